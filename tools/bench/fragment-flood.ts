/**
 * A fragment flood for the bench, made with the craft library: IPv6 first fragments behind a
 * hop-by-hop header, each of its own datagram (a new id every time, like THC's denial6), with an
 * IPv4 one now and then; none ever completes. Replayed with the built CLI, it shows how fast the
 * defragmenter gets rid of what an attacker sends, and that its memory stays flat.
 */
import { writeFileSync } from 'node:fs';
import { ethernet, fragmentHeader, hopByHop, IPPROTO, ipv4, ipv6, PcapWriter } from '../craft/index.js';
import { LINKTYPE_ETHERNET } from '../../src/decode/link-types.js';
import { measure } from './measure.js';

export interface FloodResult {
  fragments: number;
  seconds: number;
  /** From the replay's own timer, without start-up; null when its summary was not found. */
  innerSeconds: number | null;
  fragmentsPerSecond: number;
  peakRssMiB: number | null;
  fileBytes: number;
  runs: number[];
}

const START_SEC = 1738231200;
const MACS = { src: '02:00:0a:14:1e:29', dst: '00:1b:54:0a:14:01' };

/** Writes the flood to `file`: `count` fragments over `count / 100 000` seconds of capture time. */
export function writeFragmentFlood(file: string, count: number): number {
  const v6 = Buffer.from(ethernet(MACS, ipv6({ src: 'fd00:10:20:30::41', dst: 'ff02::16', protocol: IPPROTO.ICMPV6, extensions: [hopByHop(), fragmentHeader({ id: 0, more: true })] }, Buffer.alloc(16, 0x8f))));
  const v4 = Buffer.from(ethernet(MACS, ipv4({ src: '10.20.30.41', dst: '10.1.5.30', id: 0, mf: true, protocol: IPPROTO.UDP }, Buffer.alloc(24, 0x55))));
  // The fragment header's id: after Ethernet, the fixed header and the 8-byte hop-by-hop header.
  const v6IdAt = 14 + 40 + 8 + 4;
  const writer = new PcapWriter({ linkType: LINKTYPE_ETHERNET });
  for (let i = 0; i < count; i++) {
    const frame = i % 16 === 15 ? v4 : v6;
    if (frame === v4) frame.writeUInt16BE(i & 0xffff, 14 + 4);
    else frame.writeUInt32BE(i >>> 0, v6IdAt);
    // A copy: the writer keeps the bytes it is given.
    writer.add({ sec: START_SEC + Math.floor(i / 100_000), nsec: (i % 100_000) * 10_000, data: Buffer.from(frame) });
  }
  const bytes = writer.toBuffer();
  writeFileSync(file, bytes);
  return bytes.length;
}

/** Replays the flood `runs` times with the CLI; the fastest run counts, the largest peak RSS. */
export async function measureFragmentFlood(cli: string, file: string, count: number, runs: number): Promise<FloodResult> {
  const fileBytes = writeFragmentFlood(file, count);
  let best: { seconds: number; inner: number | null } | null = null;
  let peak: number | null = null;
  const seconds: number[] = [];
  for (let i = 0; i < runs; i++) {
    let inner: number | null = null;
    const run = await measure(process.execPath, [cli, 'replay', file, '--format', 'json', '--log-level', 'warn'], {
      timeoutSeconds: 600,
      onStderrLine: (line) => {
        const m = /^traffic .* in ([0-9.]+) s/.exec(line);
        if (m) inner = Number(m[1]);
      },
    });
    if (run.exitCode !== 0) throw new Error(`fragment flood replay exited with ${run.exitCode}: ${run.stderrTail}`);
    seconds.push(run.seconds);
    if (run.peakRssMiB !== null) peak = Math.max(peak ?? 0, run.peakRssMiB);
    if (best === null || run.seconds < best.seconds) best = { seconds: run.seconds, inner };
  }
  const timed = best!.inner ?? best!.seconds;
  return { fragments: count, seconds: best!.seconds, innerSeconds: best!.inner, fragmentsPerSecond: count / timed, peakRssMiB: peak, fileBytes, runs: seconds };
}
