/**
 * Our decoder against tshark on every sample capture, packet by packet: the innermost packet's
 * addresses, transport protocol and ports. tshark lists outer and inner values of a tunnelled
 * packet in order, so the innermost packet is its last IP layer (ICMP errors quote a packet of
 * their own: layers after ICMP are not the packet). With defragmentation on, tshark dissects a
 * reassembled datagram's transport on the fragment that completed it, as our decoder does, and
 * shows the other fragments without ports, as our decoder holds them.
 */
import { closeSync, openSync, readSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CapturedPacket } from '../../src/capture/packet.js';
import { PacketDecoder } from '../../src/decode/decoder.js';
import { PacketView } from '../../src/decode/packet-view.js';
import { DECODE_HELD, DECODE_NON_IP, DECODE_OK } from '../../src/decode/result.js';
import { readAll, SAMPLES_DIR, tsharkFields } from '../support/captures.js';
import { addrWords, resultName } from './decode-helpers.js';

const FIELDS = [
  'frame.number',
  'frame.protocols',
  'ip.src',
  'ip.dst',
  'ipv6.src',
  'ipv6.dst',
  'tcp.srcport',
  'tcp.dstport',
  'udp.srcport',
  'udp.dstport',
  'ip.proto',
  'ipv6.nxt',
  'ipv6.hopopts.nxt',
  'ipv6.dstopts.nxt',
  'ipv6.routing.nxt',
  'ipv6.fraghdr.nxt',
  'ah.next_header',
] as const;
type Field = (typeof FIELDS)[number];
const TSHARK_ARGS = ['-o', 'ip.defragment:TRUE', '-o', 'ipv6.defragment:TRUE'];

/** IPv6 extension headers as tshark names them in frame.protocols, and the field holding their next header. */
const EXTENSION_NEXT: Record<string, Field> = {
  'ipv6.hopopts': 'ipv6.hopopts.nxt',
  'ipv6.dstopts': 'ipv6.dstopts.nxt',
  'ipv6.routing': 'ipv6.routing.nxt',
  'ipv6.fraghdr': 'ipv6.fraghdr.nxt',
  ah: 'ah.next_header',
};

/** The innermost packet as both sides describe it; addresses as 32-bit words. */
interface Summary {
  version: number;
  src: number[];
  dst: number[];
  proto: number;
  srcPort: number;
  dstPort: number;
}

/** Capture files by content, whatever their names: pcap (either byte order, µs or ns), pcapng, gzip. */
function isCapture(path: string): boolean {
  if (!statSync(path).isFile()) return false;
  const head = Buffer.alloc(4);
  const fd = openSync(path, 'r');
  try {
    if (readSync(fd, head, 0, 4, 0) < 4) return false;
  } finally {
    closeSync(fd);
  }
  const magic = head.readUInt32BE(0);
  return [0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1, 0x0a0d0d0a].includes(magic) || (head[0] === 0x1f && head[1] === 0x8b);
}

function tsharkSummary(row: string[]): Summary | null {
  const get = (f: Field): string[] => {
    const v = row[FIELDS.indexOf(f)] ?? '';
    return v === '' ? [] : v.split(',');
  };
  const tokens = get('frame.protocols').join(',').split(':');
  const icmpAt = tokens.findIndex((t) => t === 'icmp' || t === 'icmpv6');
  const packetTokens = icmpAt < 0 ? tokens : tokens.slice(0, icmpAt + 1);
  let ipAt = -1;
  for (let i = 0; i < packetTokens.length; i++) if (packetTokens[i] === 'ip' || packetTokens[i] === 'ipv6') ipAt = i;
  if (ipAt < 0) return null;
  /** Occurrences of token t up to and including position i: which value of a repeated field is ours. */
  const nth = (t: string, i: number) => tokens.slice(0, i + 1).filter((x) => x === t).length - 1;
  const ipToken = tokens[ipAt];
  const version = ipToken === 'ip' ? 4 : 6;
  const n = nth(ipToken, ipAt);
  const src = get(version === 4 ? 'ip.src' : 'ipv6.src')[n];
  const dst = get(version === 4 ? 'ip.dst' : 'ipv6.dst')[n];
  let proto: number;
  let at = ipAt + 1;
  if (version === 4) {
    proto = Number(get('ip.proto')[n]);
  } else {
    proto = Number(get('ipv6.nxt')[n]);
    while (at < tokens.length && EXTENSION_NEXT[tokens[at]] !== undefined) {
      proto = Number(get(EXTENSION_NEXT[tokens[at]])[nth(tokens[at], at)]);
      at++;
    }
  }
  let srcPort = 0;
  let dstPort = 0;
  const transport = tokens[at];
  if (transport === 'tcp' || transport === 'udp') {
    const k = nth(transport, at);
    srcPort = Number(get(`${transport}.srcport`)[k]);
    dstPort = Number(get(`${transport}.dstport`)[k]);
  }
  return { version, src: addrWords(src), dst: addrWords(dst), proto, srcPort, dstPort };
}

function ourSummary(view: PacketView): Summary {
  return {
    version: view.ipVersion,
    src: Array.from(view.addr.subarray(0, 4)),
    dst: Array.from(view.addr.subarray(4, 8)),
    proto: view.ipProto,
    srcPort: view.srcPort,
    dstPort: view.dstPort,
  };
}

/** For failure messages only: comparisons use the words. */
function summaryText(s: Summary): string {
  const text = (w: number[]) =>
    s.version === 4 ? [w[0] >>> 24, (w[0] >>> 16) & 0xff, (w[0] >>> 8) & 0xff, w[0] & 0xff].join('.') : w.map((x) => x.toString(16).padStart(8, '0')).join('');
  return `IPv${s.version} ${text(s.src)}:${s.srcPort} > ${text(s.dst)}:${s.dstPort} proto ${s.proto}`;
}

const captures = readdirSync(SAMPLES_DIR)
  .filter((name) => isCapture(join(SAMPLES_DIR, name)))
  // tshark refuses a file with a pcapng section of an unknown version, which this sample is about.
  .filter((name) => name !== 'pcapng-unknown-version.pcapng')
  .sort();

describe('decoder agrees with tshark on the sample captures', () => {
  it('finds the sample captures', () => {
    expect(captures.length).toBeGreaterThan(10);
    expect(captures).toContain('compressed.pcap.gz');
  });

  for (const name of captures) {
    it(name, async () => {
      const path = join(SAMPLES_DIR, name);
      const [ours, rows] = await Promise.all([readAll(path), tsharkFields(path, [...FIELDS], TSHARK_ARGS)]);
      expect(ours.error).toBeNull();
      expect(ours.packets.length).toBeGreaterThan(0);
      expect(rows.map((r) => Number(r[0]))).toEqual(ours.packets.map((_, i) => i + 1));

      const decoder = new PacketDecoder();
      const view = new PacketView();
      const pkt = new CapturedPacket();
      const disagreements: string[] = [];
      ours.packets.forEach((p, i) => {
        Object.assign(pkt, { data: p.data, offset: 0, caplen: p.caplen, origlen: p.origlen, tsSec: p.tsSec, tsNsec: p.tsNsec, linkType: p.linkType });
        const result = decoder.decode(pkt, view);
        const theirs = tsharkSummary(rows[i]);
        const frame = `frame ${i + 1} (${rows[i][1]})`;
        if (theirs === null) {
          if (result !== DECODE_NON_IP) disagreements.push(`${frame}: tshark sees no IP, we say ${resultName(result)}`);
          return;
        }
        if (result !== DECODE_OK && result !== DECODE_HELD) {
          disagreements.push(`${frame}: tshark decodes IP, we say ${resultName(result)} ${JSON.stringify(Object.fromEntries(decoder.stats.invalidByReason))}`);
          return;
        }
        const mine = ourSummary(view);
        if (JSON.stringify(mine) !== JSON.stringify(theirs)) {
          disagreements.push(`${frame}: ${resultName(result)} ours ${summaryText(mine)}, tshark ${summaryText(theirs)}`);
        }
      });
      expect(disagreements).toEqual([]);
    });
  }
});
