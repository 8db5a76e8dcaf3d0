import { createReadStream, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip, gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { readAll, SAMPLES_DIR } from '../support/captures.js';

interface ParserPacket {
  header: { timestampSeconds: number; timestampMicroseconds: number; capturedLength: number; originalLength: number };
  data: Buffer;
}

interface ParserEvents {
  on(event: 'globalHeader', listener: (header: { linkLayerType: number }) => void): ParserEvents;
  on(event: 'packet', listener: (packet: ParserPacket) => void): ParserEvents;
  on(event: 'end', listener: () => void): ParserEvents;
  on(event: 'error', listener: (err: Error) => void): ParserEvents;
}

const pcapParser = createRequire(import.meta.url)('pcap-parser') as { parse(input: Readable): ParserEvents };

interface OraclePacket {
  sec: number;
  usec: number;
  caplen: number;
  origlen: number;
  linkType: number;
  data: Buffer;
}

function parseWithOracle(stream: Readable): Promise<OraclePacket[]> {
  return new Promise((resolve, reject) => {
    const packets: OraclePacket[] = [];
    let linkType = -1;
    pcapParser
      .parse(stream)
      .on('globalHeader', (h) => (linkType = h.linkLayerType))
      .on('packet', (p) =>
        packets.push({
          sec: p.header.timestampSeconds,
          usec: p.header.timestampMicroseconds,
          caplen: p.header.capturedLength,
          origlen: p.header.originalLength,
          linkType,
          data: Buffer.from(p.data),
        }),
      )
      .on('error', reject)
      .on('end', () => resolve(packets));
  });
}

const PCAP_USEC = [0xa1b2c3d4, 0xd4c3b2a1];

/** Classic pcap samples (gzip ones by their content), split by what pcap-parser can read. */
function classicSamples(): { usec: string[]; nsec: string[] } {
  const usec: string[] = [];
  const nsec: string[] = [];
  for (const name of readdirSync(SAMPLES_DIR).sort()) {
    if (!/\.pcap(\.gz)?$/.test(name)) continue;
    let head = readFileSync(join(SAMPLES_DIR, name));
    if (head[0] === 0x1f && head[1] === 0x8b) head = gunzipSync(head);
    (PCAP_USEC.includes(head.readUInt32BE(0)) ? usec : nsec).push(name);
  }
  return { usec, nsec };
}

const samples = classicSamples();

describe('pcap samples read by pcap-parser as an independent oracle', () => {
  it('finds the microsecond samples (nanosecond ones are left out: pcap-parser cannot read them)', () => {
    expect(samples.usec.length).toBeGreaterThanOrEqual(15);
    expect(samples.usec).toContain('compressed.pcap.gz');
    expect(samples.nsec).toEqual(['nsec-bigendian.pcap']);
  });

  for (const name of samples.usec) {
    it(`${name}: agrees with pcap-parser packet by packet`, async () => {
      const path = join(SAMPLES_DIR, name);
      const raw = createReadStream(path);
      const oracle = await parseWithOracle(name.endsWith('.gz') ? raw.pipe(createGunzip()) : raw);
      const ours = await readAll(path, { chunkSize: 512 });
      expect(ours.error).toBeNull();
      expect(oracle.length).toBeGreaterThan(0);
      expect(ours.packets).toHaveLength(oracle.length);
      ours.packets.forEach((p, i) => {
        const o = oracle[i];
        expect({ sec: p.tsSec, usec: p.tsNsec / 1000, caplen: p.caplen, origlen: p.origlen, linkType: p.linkType }).toEqual({
          sec: o.sec,
          usec: o.usec,
          caplen: o.caplen,
          origlen: o.origlen,
          linkType: o.linkType,
        });
        expect(p.data.equals(o.data), `bytes of packet ${i + 1}`).toBe(true);
      });
    });
  }
});
