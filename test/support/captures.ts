/**
 * Helpers for capture-reader tests: temporary capture files, a reader loop that returns plain
 * packets, and tshark as an independent reader.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openCapture, type OpenOptions } from '../../src/capture/open-capture.js';
import { CaptureError } from '../../src/capture/errors.js';
import { CapturedPacket } from '../../src/capture/packet.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const SAMPLES_DIR = join(REPO_ROOT, 'pcaps');
export const FIXTURES_DIR = join(REPO_ROOT, 'test/fixtures');

/** A packet as a plain object, its bytes copied out of the reader's buffer. */
export interface ReadPacket {
  index: number;
  tsSec: number;
  tsNsec: number;
  caplen: number;
  origlen: number;
  linkType: number;
  interfaceId: number;
  recordOffset: number;
  data: Buffer;
}

export interface ReadResult {
  packets: ReadPacket[];
  /** Damage found while reading, or the reason the file could not be opened as a capture. */
  error: CaptureError | null;
  /** Input the reader passed over without stopping (sections of an unknown pcapng version). */
  warnings: readonly CaptureError[];
  /** True when openCapture itself refused the input. */
  openFailed: boolean;
  format: string | null;
  compressed: boolean;
}

export interface ReadAllOptions extends OpenOptions {
  /** Fails the read (as a thrown Error) after this many loop turns: a reader that never ends. */
  maxTurns?: number;
}

/** Runs the documented pull loop over a capture to its end. */
export async function readAll(path: string, options: ReadAllOptions = {}): Promise<ReadResult> {
  let opened;
  try {
    opened = await openCapture(path, options);
  } catch (err) {
    if (err instanceof CaptureError) return { packets: [], error: err, warnings: [], openFailed: true, format: null, compressed: false };
    throw err;
  }
  const { source, compressed } = opened;
  const packets: ReadPacket[] = [];
  const pkt = new CapturedPacket();
  const maxTurns = options.maxTurns ?? 10_000_000;
  let turns = 0;
  try {
    for (;;) {
      while (source.next(pkt)) {
        packets.push({
          index: pkt.index,
          tsSec: pkt.tsSec,
          tsNsec: pkt.tsNsec,
          caplen: pkt.caplen,
          origlen: pkt.origlen,
          linkType: pkt.linkType,
          interfaceId: pkt.interfaceId,
          recordOffset: pkt.recordOffset,
          data: Buffer.from(pkt.data.subarray(pkt.offset, pkt.offset + pkt.caplen)),
        });
        if (++turns > maxTurns) throw new Error(`reader of ${path} still running after ${maxTurns} turns`);
      }
      if (++turns > maxTurns) throw new Error(`reader of ${path} still running after ${maxTurns} turns`);
      if (!(await source.refill())) break;
    }
  } finally {
    await source.close();
  }
  return { packets, error: source.error, warnings: source.warnings, openFailed: false, format: source.format, compressed };
}

let tempDir: string | null = null;
let tempCount = 0;

/** Writes bytes to a fresh file in this process's temporary directory; returns its path. */
export function writeTemp(name: string, bytes: Uint8Array): string {
  tempDir ??= mkdtempSync(join(tmpdir(), 'wardwatch-capture-'));
  const path = join(tempDir, `${++tempCount}-${name}`);
  writeFileSync(path, bytes);
  return path;
}

export function removeTemp(): void {
  if (tempDir !== null) rmSync(tempDir, { recursive: true, force: true });
  tempDir = null;
}

const run = promisify(execFile);

/** tshark's view of every frame: the fields asked for, one array per frame. */
export async function tsharkFields(path: string, fields: string[], extraArgs: string[] = []): Promise<string[][]> {
  const args = ['-r', path, ...extraArgs, '-T', 'fields', '-E', 'separator=/t', ...fields.flatMap((f) => ['-e', f])];
  const { stdout } = await run('tshark', args, { maxBuffer: 64 * 1024 * 1024 });
  return stdout
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => line.split('\t'));
}

/** "sec.nnnnnnnnn", the way tshark prints frame.time_epoch. */
export function epochText(sec: number, nsec: number): string {
  return `${sec}.${String(nsec).padStart(9, '0')}`;
}
