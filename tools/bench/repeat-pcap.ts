/**
 * Writes a classic pcap capture repeated N times, each copy's timestamps shifted to follow the
 * one before, so a short capture (a fragment flood, say) becomes a long run in packet time.
 *
 *   npx tsx tools/bench/repeat-pcap.ts IN.pcap N OUT.pcap
 */
import { readFileSync, writeFileSync } from 'node:fs';

const [input, times, output] = process.argv.slice(2);
if (input === undefined || times === undefined || output === undefined) {
  console.error('usage: repeat-pcap.ts IN.pcap N OUT.pcap');
  process.exit(2);
}
const src = readFileSync(input);
const magic = src.readUInt32LE(0);
const little = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
if (!little && src.readUInt32BE(0) !== 0xa1b2c3d4 && src.readUInt32BE(0) !== 0xa1b23c4d) throw new Error(`${input}: not a classic pcap`);
const u32 = (at: number) => (little ? src.readUInt32LE(at) : src.readUInt32BE(at));

// Record starts and the capture's span in whole seconds.
const records: number[] = [];
let first = -1;
let last = 0;
for (let at = 24; at + 16 <= src.length; ) {
  records.push(at);
  const sec = u32(at);
  if (first < 0) first = sec;
  last = Math.max(last, sec);
  at += 16 + u32(at + 8);
}
const span = last - first + 1;

const out = Buffer.alloc(24 + (src.length - 24) * Number(times));
src.copy(out, 0, 0, 24);
let o = 24;
for (let copy = 0; copy < Number(times); copy++) {
  for (const at of records) {
    const length = 16 + u32(at + 8);
    src.copy(out, o, at, at + length);
    const sec = u32(at) + copy * span;
    if (little) out.writeUInt32LE(sec, o);
    else out.writeUInt32BE(sec, o);
    o += length;
  }
}
writeFileSync(output, out.subarray(0, o));
console.log(`${output}: ${records.length * Number(times)} records, ${times} copies ${span} s apart`);
