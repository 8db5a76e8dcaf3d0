/**
 * The bench's host-pair split, the bound it reports for any two-thread split: every packet lands
 * in exactly one half with its time and bytes, both directions and every flow of a host pair in
 * the same half, and the halves as even as whole pairs allow.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { arp, ethernet, ipv4, ipv6, LINKTYPE, udp } from '../../tools/craft/layers.js';
import { pcapFile, type CaptureRecord } from '../../tools/craft/pcap-writer.js';
import { splitByHostPair } from '../../tools/bench/host-pair-split.js';
import { readAll } from '../support/captures.js';

const work = mkdtempSync(join(tmpdir(), 'wardwatch-split-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const MAC = { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' };

interface Frame {
  sec: number;
  nsec: number;
  hex: string;
}

async function frames(file: string): Promise<Frame[]> {
  const { packets, error } = await readAll(file);
  expect(error).toBeNull();
  return packets.map((p) => ({ sec: p.tsSec, nsec: p.tsNsec, hex: p.data.toString('hex') }));
}

/** `count` UDP packets between a and b, alternating direction, each on its own port pair. */
function conversation(a: string, b: string, count: number, v6 = false): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => {
    const [src, dst] = i % 2 === 0 ? [a, b] : [b, a];
    const l4 = udp({ sport: 1000 + i, dport: 2000 + (i % 3) }, `packet ${i}`);
    return ethernet(MAC, v6 ? ipv6({ src, dst }, l4) : ipv4({ src, dst }, l4));
  });
}

describe('splitting a capture by host pair', () => {
  it('puts every packet in one half, each host pair whole, as evenly as whole pairs allow', async () => {
    const sizes = [9, 7, 5, 4, 3, 2];
    const pairs = sizes.map((n, i) => conversation(`10.0.${i}.1`, `10.0.${i}.2`, n));
    pairs.push(conversation('2001:db8::1', '2001:db8::2', 6, true));
    const arpFrames = [0, 1].map(() => ethernet({ src: MAC.src, dst: 'ff:ff:ff:ff:ff:ff' }, arp({ op: 1, senderMac: MAC.src, senderIp: '10.9.9.9', targetIp: '10.9.9.1' })));
    // Interleave the conversations so a half's order is the capture's order, not one pair after another.
    const ordered: Uint8Array[] = [];
    for (let i = 0; ordered.length < pairs.flat().length; i++) for (const p of pairs) if (i < p.length) ordered.push(p[i]);
    ordered.splice(3, 0, arpFrames[0]);
    ordered.push(arpFrames[1]);
    const records: CaptureRecord[] = ordered.map((data, i) => ({ sec: 1_700_000_000 + i, nsec: 1000 * i + 7000, data }));
    const input = join(work, 'input.pcap');
    writeFileSync(input, pcapFile({ linkType: LINKTYPE.ETHERNET, nanosecond: true }, records));

    const outputs: [string, string] = [join(work, 'half-0.pcap'), join(work, 'half-1.pcap')];
    const split = await splitByHostPair(input, outputs);
    const halves = await Promise.all(outputs.map(frames));
    const all = await frames(input);

    expect(split.pairs).toBe(pairs.length + 1);
    expect(split.packets).toEqual([halves[0].length, halves[1].length]);
    // Every packet once, each half in the capture's order, times unchanged.
    expect([...halves[0], ...halves[1]].map((f) => f.hex).sort()).toEqual(all.map((f) => f.hex).sort());
    for (const half of halves) {
      const at = half.map((f) => all.findIndex((g) => g.hex === f.hex && g.sec === f.sec && g.nsec === f.nsec));
      expect(at.every((i) => i >= 0)).toBe(true);
      expect(at).toEqual([...at].sort((x, y) => x - y));
    }
    // Each conversation, both directions, in one half only.
    for (const p of [...pairs, arpFrames]) {
      const hexes = new Set(p.map((f) => Buffer.from(f).toString('hex')));
      const where = halves.map((h) => h.filter((f) => hexes.has(f.hex)).length);
      expect(where.filter((n) => n > 0)).toHaveLength(1);
    }
    // Largest first to the lighter half: 9, 7, 6 (IPv6), 5, 4, 3, 2, 2 (ARP) deal out as 9+5+3+2 and 7+6+4+2.
    expect(split.packets).toEqual([19, 19]);
  });
});
