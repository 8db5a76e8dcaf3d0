/** The fuzzer's seeds: every sample capture, parsed into records. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseCapture, type CaptureModel } from './capture-model.js';

export interface Seed {
  name: string;
  model: CaptureModel;
}

const CAPTURE_NAME = /\.(pcap|pcapng|cap)(\.gz)?$/;

/** Loads the captures of a directory, sorted by name so a seed number means the same input everywhere. */
export function loadCorpus(dir: string): Seed[] {
  const seeds: Seed[] = [];
  for (const name of readdirSync(dir).filter((n) => CAPTURE_NAME.test(n)).sort()) {
    let bytes = readFileSync(join(dir, name));
    const gzip = bytes.length > 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
    if (gzip) bytes = gunzipSync(bytes);
    const model = parseCapture(bytes, gzip);
    if (model !== null && model.items.length > 0) seeds.push({ name, model });
  }
  if (seeds.length === 0) throw new Error(`no sample captures in ${dir}`);
  return seeds;
}
