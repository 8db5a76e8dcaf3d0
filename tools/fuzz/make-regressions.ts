/**
 * Writes the hand-built regression captures of test/regressions/ (the fuzzer's own finds are
 * saved by the fuzzer and minimized with `tools/fuzz.ts --minimize`). Deterministic.
 *
 *   npx tsx tools/fuzz/make-regressions.ts [outdir]
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ethernet, gzip, ipv4, ipv4Fragment, LINKTYPE, pcapFile, Prng, udp, type CaptureRecord } from '../craft/index.js';
import { REPO_ROOT } from './fuzzer.js';

const START_SEC = 1738231200;
const FRAGMENT = 1480;
const FRAGMENTS = 1024;

function frame(packet: Uint8Array): Uint8Array {
  return ethernet({ src: '02:00:0a:14:1e:29', dst: '02:00:0a:01:05:1e' }, packet);
}

/** A syslog datagram from a monitor whose payload is `fragments` full-size fragments long. */
function datagram(id: number, fragments: number, seed: number): Buffer {
  return ipv4({ src: '10.20.30.41', dst: '10.1.5.30', id }, udp({ sport: 40000, dport: 514 }, new Prng(seed).bytes(fragments * FRAGMENT - 8)));
}

/**
 * One datagram that never completes: its last fragment, then the same 1480-byte fragment over
 * and over, up to the per-datagram fragment limit, while its first 8 bytes never come.
 */
function overlappingFragments(): Buffer {
  const whole = datagram(0x4242, 3, 1);
  const records: CaptureRecord[] = [{ sec: START_SEC, nsec: 0, data: frame(ipv4Fragment(whole, { offset: 2 * FRAGMENT, more: false })) }];
  const middle = frame(ipv4Fragment(whole, { offset: 8, length: FRAGMENT, more: true }));
  for (let i = 1; i < FRAGMENTS; i++) records.push({ sec: START_SEC, nsec: i * 10_000, data: middle });
  return pcapFile({ linkType: LINKTYPE.ETHERNET }, records);
}

/** The same number of packets and bytes as whole datagrams of two fragments each. */
function completingFragments(): Buffer {
  const records: CaptureRecord[] = [];
  for (let i = 0; i < FRAGMENTS / 2; i++) {
    const whole = datagram(i, 2, 1);
    records.push({ sec: START_SEC, nsec: 2 * i * 10_000, data: frame(ipv4Fragment(whole, { offset: 0, length: FRAGMENT })) });
    records.push({ sec: START_SEC, nsec: (2 * i + 1) * 10_000, data: frame(ipv4Fragment(whole, { offset: FRAGMENT })) });
  }
  return pcapFile({ linkType: LINKTYPE.ETHERNET }, records);
}

const out = resolve(process.argv[2] ?? join(REPO_ROOT, 'test', 'regressions'));
writeFileSync(join(out, 'defrag-overlapping-fragments.pcap.gz'), gzip(overlappingFragments()));
writeFileSync(join(out, 'baselines', 'defrag-completing-fragments.pcap.gz'), gzip(completingFragments()));
