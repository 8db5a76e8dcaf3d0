/**
 * Reading speed: wardwatch's capture reader alone, and reader plus packet decoding, on the bench
 * capture. Runs the built modules in a child process that times itself, so Node's start-up is
 * not counted: this is the floor under everything replay does.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface ReadSpeed {
  readSeconds: number;
  decodeSeconds: number;
  packets: number;
  bytes: number;
}

function script(dist: string, file: string): string {
  const mod = (path: string) => JSON.stringify(pathToFileURL(join(dist, path)).href);
  return `
import { openCapture } from ${mod('capture/open-capture.js')};
import { CapturedPacket } from ${mod('capture/packet.js')};
import { PacketDecoder } from ${mod('decode/decoder.js')};
import { PacketView } from ${mod('decode/packet-view.js')};
async function pass(decode) {
  const { source } = await openCapture(${JSON.stringify(file)});
  const pkt = new CapturedPacket();
  const decoder = new PacketDecoder();
  const view = new PacketView();
  let packets = 0;
  const started = process.hrtime.bigint();
  for (;;) {
    while (source.next(pkt)) {
      packets++;
      if (decode) decoder.decode(pkt, view);
    }
    if (!(await source.refill())) break;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const bytes = source.position;
  await source.close();
  return { seconds, packets, bytes };
}
const best = async (decode) => { let b = null; for (let i = 0; i < 3; i++) { const r = await pass(decode); if (b === null || r.seconds < b.seconds) b = r; } return b; };
const read = await best(false);
const decoded = await best(true);
console.log(JSON.stringify({ readSeconds: read.seconds, decodeSeconds: decoded.seconds, packets: read.packets, bytes: read.bytes }));
`;
}

export function measureReading(dist: string, file: string): ReadSpeed {
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script(dist, file)], { encoding: 'utf8', timeout: 600_000 });
  if (child.status !== 0) throw new Error(`reading benchmark failed: ${(child.stderr || child.error?.message || '').trim().split('\n')[0]}`);
  return JSON.parse(child.stdout.trim().split('\n').pop()!) as ReadSpeed;
}
