/**
 * MNT calls, wardwatch against tshark, on the MOUNT sample captures: the same calls (caller,
 * callee, export path) found by two independent decoders, including where the credentials
 * exceed RFC 5531's 400 bytes, the capture starts mid-connection, or the mirror lost a segment.
 *
 * tshark is asked to find record marks at segment starts (`rpc.find_fragment_start`), and is
 * run twice: with TCP reassembly, which a lost segment stalls for the rest of its direction,
 * and segment by segment, which cannot join a record split across segments. What either run
 * decodes is what tshark finds.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatAddress } from '../../src/lib/ip-text.js';
import { appEventsOf } from '../support/app-events.js';
import { SAMPLES_DIR, tsharkFields } from '../support/captures.js';

const SAMPLES = [
  'busybox-nfs-mount-udp.pcap',
  'nfs-internal-filer.pcap',
  'mount-tcp.pcap',
  'mount-oversized-auth-udp.pcap',
  'mount-oversized-auth-tcp.pcap',
  'mount-midstream.pcap',
  'mount-lost-segment.pcap',
];
const MOUNT_PROGRAM = 100005;
const MNT = 1;

/** 'caller -> callee path', sorted. */
async function wardwatchMnt(path: string): Promise<string[]> {
  const found: string[] = [];
  for (const { flow, event } of await appEventsOf(path)) {
    if (event.type !== 'mount.call' || event.procedure !== 'MNT') continue;
    const client = formatAddress(flow.ipVersion, flow.addr, 0);
    const server = formatAddress(flow.ipVersion, flow.addr, 4);
    const [caller, callee] = event.dir === 0 ? [client, server] : [server, client];
    found.push(`${caller} -> ${callee} ${event.path ?? '(no path)'}`);
  }
  return found.sort();
}

const FIELDS = ['frame.number', 'ip.src', 'ip.dst', 'rpc.msgtyp', 'rpc.xid', 'rpc.program', 'rpc.procedure', 'mount.path'];
const RUNS = [
  ['-o', 'rpc.find_fragment_start:TRUE'],
  ['-o', 'rpc.find_fragment_start:TRUE', '-o', 'tcp.desegment_tcp_streams:FALSE'],
];

/** 'caller -> callee path' for each MNT call either tshark run decoded with its path, sorted. */
async function tsharkMnt(path: string): Promise<string[]> {
  const calls = new Map<string, string>();
  for (const options of RUNS) {
    const rows = await tsharkFields(path, FIELDS, [...options, '-Y', `rpc.msgtyp == 0 && rpc.program == ${MOUNT_PROGRAM} && rpc.procedure == ${MNT} && mount.path`, '-E', 'occurrence=f']);
    for (const [frame, src, dst, , xid, , , mountPath] of rows) calls.set(`${frame}/${xid}`, `${src} -> ${dst} ${mountPath}`);
  }
  return [...calls.values()].sort();
}

const results = new Map<string, { ours: string[]; theirs: string[] }>();

describe('MNT calls: wardwatch and tshark agree on caller, callee and export path', () => {
  beforeAll(async () => {
    for (const file of SAMPLES) {
      const path = join(SAMPLES_DIR, file);
      const [ours, theirs] = await Promise.all([wardwatchMnt(path), tsharkMnt(path)]);
      results.set(file, { ours, theirs });
    }
  });

  for (const file of SAMPLES) {
    it(file, () => {
      const { ours, theirs } = results.get(file)!;
      expect(theirs.length).toBeGreaterThan(0);
      expect(ours).toEqual(theirs);
    });
  }
});
