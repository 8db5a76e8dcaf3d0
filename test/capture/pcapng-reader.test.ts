import { afterAll, describe, expect, it } from 'vitest';
import { CaptureError } from '../../src/capture/errors.js';
import { LINKTYPE, PCAPNG_BLOCK, PcapngWriter, type ByteOrder } from '../../tools/craft/index.js';
import { readAll, removeTemp, writeTemp } from '../support/captures.js';

afterAll(removeTemp);

const frame = (n: number, size = 60): Buffer => Buffer.alloc(size, n);

/** Timestamp `units` of 1/unitsPerSec seconds split into whole seconds and nanoseconds, exactly. */
function expectedTime(units: bigint, unitsPerSec: bigint, offsetSec = 0n): { sec: number; nsec: number } {
  const sec = units / unitsPerSec;
  const nsec = ((units % unitsPerSec) * 1_000_000_000n) / unitsPerSec;
  return { sec: Number(sec + offsetSec), nsec: Number(nsec) };
}

function u32At(bytes: Buffer, order: ByteOrder, at: number, value: number): void {
  if (order === 'le') bytes.writeUInt32LE(value >>> 0, at);
  else bytes.writeUInt32BE(value >>> 0, at);
}

describe('pcapng reader', () => {
  it('reads several sections of different byte orders, each with its own interfaces', async () => {
    const w = new PcapngWriter();
    w.section({ byteOrder: 'le' });
    const eth = w.addInterface({ linkType: LINKTYPE.ETHERNET });
    w.enhanced(eth, { sec: 100, nsec: 1_000, data: frame(1) });
    w.section({ byteOrder: 'be' });
    const raw = w.addInterface({ linkType: LINKTYPE.RAW });
    const sll = w.addInterface({ linkType: LINKTYPE.LINUX_SLL, tsresol: { base: 10, exponent: 9 } });
    w.enhanced(sll, { sec: 200, nsec: 123_456_789, data: frame(2, 77) });
    w.enhanced(raw, { sec: 201, nsec: 5_000, data: frame(3, 41) });
    w.section({ byteOrder: 'le' });
    const null0 = w.addInterface({ linkType: LINKTYPE.NULL });
    w.enhanced(null0, { sec: 300, nsec: 999_999_000, data: frame(4) });
    const { packets, error } = await readAll(writeTemp('sections.pcapng', w.toBuffer()), { chunkSize: 64 });
    expect(error).toBeNull();
    expect(packets.map((p) => [p.interfaceId, p.linkType, p.tsSec, p.tsNsec, p.caplen])).toEqual([
      [0, LINKTYPE.ETHERNET, 100, 1_000, 60],
      [1, LINKTYPE.LINUX_SLL, 200, 123_456_789, 77],
      [0, LINKTYPE.RAW, 201, 5_000, 41],
      [0, LINKTYPE.NULL, 300, 999_999_000, 60],
    ]);
    expect(packets.map((p) => p.data[0])).toEqual([1, 2, 3, 4]);
    expect(packets.map((p) => p.index)).toEqual([1, 2, 3, 4]);
  });

  it('skips a section of an unknown major version, with one warning naming its offset, and reads the next', async () => {
    const w = new PcapngWriter();
    w.section({ byteOrder: 'le' });
    w.enhanced(w.addInterface({ linkType: LINKTYPE.ETHERNET }), { sec: 100, nsec: 0, data: frame(1) });
    const v2 = w.section({ byteOrder: 'be', majorVersion: 2 });
    w.enhanced(w.addInterface({ linkType: LINKTYPE.RAW }), { sec: 200, nsec: 0, data: frame(2) });
    w.enhanced(0, { sec: 201, nsec: 0, data: frame(3) });
    w.section({ byteOrder: 'le' });
    w.enhanced(w.addInterface({ linkType: LINKTYPE.ETHERNET }), { sec: 300, nsec: 0, data: frame(4) });
    const { packets, error, warnings } = await readAll(writeTemp('version-2-section.pcapng', w.toBuffer()), { chunkSize: 64 });
    expect(error).toBeNull();
    expect(packets.map((p) => [p.tsSec, p.data[0]])).toEqual([
      [100, 1],
      [300, 4],
    ]);
    expect(warnings.map((x) => x.message)).toHaveLength(1);
    expect(warnings[0].offset).toBe(v2);
    expect(warnings[0].message).toMatch(new RegExp(`byte offset ${v2}: pcapng section of version 2\\.0 skipped`));
  });

  for (const byteOrder of ['le', 'be'] as const) {
    it(`applies if_tsresol (10^-n and 2^-n) and if_tsoffset (${byteOrder})`, async () => {
      const w = new PcapngWriter();
      w.section({ byteOrder });
      const cases = [
        { tsresol: { base: 10 as const, exponent: 9 }, tsoffset: undefined, raw: 1738231200_123456789n },
        { tsresol: { base: 10 as const, exponent: 3 }, tsoffset: undefined, raw: 1738231200_999n },
        { tsresol: { base: 2 as const, exponent: 20 }, tsoffset: undefined, raw: (1738231200n << 20n) + 777_777n },
        { tsresol: { base: 2 as const, exponent: 32 }, tsoffset: undefined, raw: (1738231200n << 32n) + 0xc0000000n },
        { tsresol: undefined, tsoffset: 1_700_000_000, raw: 38_231_200_000_500n },
        { tsresol: { base: 10 as const, exponent: 9 }, tsoffset: -3600, raw: 1738234800_000000042n },
      ];
      const expected: Array<{ sec: number; nsec: number }> = [];
      for (const c of cases) {
        const id = w.addInterface({ linkType: LINKTYPE.ETHERNET, tsresol: c.tsresol, tsoffset: c.tsoffset });
        w.enhanced(id, { sec: 0, nsec: 0, rawTimestamp: c.raw, data: frame(id) });
        const unitsPerSec = c.tsresol ? BigInt(c.tsresol.base) ** BigInt(c.tsresol.exponent) : 1_000_000n;
        expected.push(expectedTime(c.raw, unitsPerSec, BigInt(c.tsoffset ?? 0)));
      }
      const { packets, error } = await readAll(writeTemp(`tsresol-${byteOrder}.pcapng`, w.toBuffer()));
      expect(error).toBeNull();
      expect(packets.map((p) => ({ sec: p.tsSec, nsec: p.tsNsec }))).toEqual(expected);
      // Spelled out for the cases that are easy to get wrong.
      expect(expected[2]).toEqual({ sec: 1738231200, nsec: 741745948 });
      expect(expected[3]).toEqual({ sec: 1738231200, nsec: 750_000_000 });
      expect(expected[5]).toEqual({ sec: 1738231200, nsec: 42 });
    });
  }

  it('reads simple packet blocks (cut to the snap length) and obsolete packet blocks', async () => {
    const w = new PcapngWriter();
    w.section({ byteOrder: 'be' });
    w.addInterface({ linkType: LINKTYPE.ETHERNET, snapLen: 100 });
    const second = w.addInterface({ linkType: LINKTYPE.RAW });
    w.enhanced(0, { sec: 10, nsec: 5_000, data: frame(1) });
    w.simple({ data: frame(2, 150) });
    w.obsoletePacket(second, { sec: 11, nsec: 6_000, data: frame(3, 33), origlen: 1500 });
    const { packets, error } = await readAll(writeTemp('spb-pb.pcapng', w.toBuffer()));
    expect(error).toBeNull();
    expect(packets.map((p) => [p.interfaceId, p.linkType, p.caplen, p.origlen])).toEqual([
      [0, LINKTYPE.ETHERNET, 60, 60],
      [0, LINKTYPE.ETHERNET, 100, 150],
      [1, LINKTYPE.RAW, 33, 1500],
    ]);
    expect([packets[2].tsSec, packets[2].tsNsec]).toEqual([11, 6_000]);
    expect(packets[1].data.equals(frame(2, 100))).toBe(true);
  });

  it('skips blocks it does not need (name resolution, statistics, custom, unknown)', async () => {
    const w = new PcapngWriter();
    w.section();
    w.block(PCAPNG_BLOCK.NRB, Buffer.from([1, 0, 8, 0, 10, 20, 30, 41, 109, 111, 110, 0, 0, 0, 0, 0]));
    w.addInterface({ linkType: LINKTYPE.ETHERNET });
    w.enhanced(0, { sec: 1, nsec: 0, data: frame(1) });
    w.block(PCAPNG_BLOCK.ISB, Buffer.alloc(12));
    w.block(0x00000bad, Buffer.from('custom block with a private enterprise number'));
    w.block(0x40000abc, Buffer.alloc(3));
    w.enhanced(0, { sec: 2, nsec: 0, data: frame(2) });
    const { packets, error } = await readAll(writeTemp('skip.pcapng', w.toBuffer()), { chunkSize: 7 });
    expect(error).toBeNull();
    expect(packets.map((p) => p.tsSec)).toEqual([1, 2]);
  });

  /** Three EPBs; returns the file and each block's offset. */
  function threePackets(byteOrder: ByteOrder = 'le') {
    const w = new PcapngWriter();
    w.section({ byteOrder });
    w.addInterface({ linkType: LINKTYPE.ETHERNET });
    const offsets = [1, 2, 3].map((n) => w.enhanced(0, { sec: n, nsec: 0, data: frame(n, 61) }));
    return { bytes: Buffer.from(w.toBuffer()), offsets };
  }

  for (const byteOrder of ['le', 'be'] as const) {
    it(`reports a block length that is not a multiple of 4 at that block (${byteOrder})`, async () => {
      const { bytes, offsets } = threePackets(byteOrder);
      u32At(bytes, byteOrder, offsets[1] + 4, 90);
      const path = writeTemp('odd-length.pcapng', bytes);
      const { packets, error } = await readAll(path);
      expect(packets).toHaveLength(1);
      expect(error).toBeInstanceOf(CaptureError);
      expect(error?.file).toBe(path);
      expect(error?.offset).toBe(offsets[1]);
      expect(error?.reason).toMatch(/block length/);
    });
  }

  it('reports a trailing block length that disagrees with the leading one', async () => {
    const { bytes, offsets } = threePackets('be');
    const length = bytes.readUInt32BE(offsets[2] + 4);
    bytes.writeUInt32BE(length + 4, offsets[2] + length - 4);
    const { packets, error } = await readAll(writeTemp('trailer.pcapng', bytes));
    expect(packets).toHaveLength(2);
    expect(error?.offset).toBe(offsets[2]);
    expect(error?.reason).toMatch(/trailing/);
  });

  it('reports a block claiming 4 GB without trying to read it', async () => {
    const { bytes, offsets } = threePackets();
    bytes.writeUInt32LE(0xfffffffc, offsets[1] + 4);
    const { packets, error } = await readAll(writeTemp('huge.pcapng', bytes));
    expect(packets).toHaveLength(1);
    expect(error?.offset).toBe(offsets[1]);
    expect(error?.reason).toMatch(/block length/);
  });

  it('reports a packet block naming an interface the section does not have', async () => {
    const { bytes, offsets } = threePackets();
    bytes.writeUInt32LE(5, offsets[2] + 8);
    const { packets, error } = await readAll(writeTemp('no-interface.pcapng', bytes));
    expect(packets).toHaveLength(2);
    expect(error?.offset).toBe(offsets[2]);
    expect(error?.reason).toMatch(/interface 5/);
  });

  it('reports an enhanced packet block whose caplen runs past the block', async () => {
    const { bytes, offsets } = threePackets();
    bytes.writeUInt32LE(4096, offsets[0] + 20);
    const { packets, error } = await readAll(writeTemp('caplen.pcapng', bytes));
    expect(packets).toHaveLength(0);
    expect(error?.offset).toBe(offsets[0]);
  });

  for (const chunkSize of [undefined, 7]) {
    it(`delivers the packets before a block cut short and names that block (chunk ${chunkSize ?? 'default'})`, async () => {
      const { bytes, offsets } = threePackets();
      const path = writeTemp('cut.pcapng', bytes.subarray(0, offsets[2] + 30));
      const { packets, error } = await readAll(path, { chunkSize });
      expect(packets.map((p) => p.tsSec)).toEqual([1, 2]);
      expect(error?.offset).toBe(offsets[2]);
      expect(error?.message).toContain(`${path}: byte offset ${offsets[2]}`);
    });
  }

  it('reads records that straddle tiny read buffers exactly as with a large one', async () => {
    const w = new PcapngWriter();
    w.section({ byteOrder: 'be' });
    w.addInterface({ linkType: LINKTYPE.ETHERNET, tsresol: { base: 2, exponent: 24 } });
    for (let i = 0; i < 20; i++) w.enhanced(0, { sec: 1000 + i, nsec: i * 37_000, data: frame(i, 30 + i * 13), comment: `packet ${i}` });
    w.section({ byteOrder: 'le' });
    w.addInterface({ linkType: LINKTYPE.RAW });
    for (let i = 0; i < 5; i++) w.simple({ data: frame(i, 20 + i) });
    const path = writeTemp('straddle.pcapng', w.toBuffer());
    const whole = await readAll(path);
    expect(whole.error).toBeNull();
    expect(whole.packets).toHaveLength(25);
    for (const chunkSize of [7, 64]) {
      const small = await readAll(path, { chunkSize });
      expect(small.error).toBeNull();
      expect(small.packets).toEqual(whole.packets);
    }
  });
});
