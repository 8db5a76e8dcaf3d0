import { afterAll, describe, expect, it } from 'vitest';
import { CaptureError } from '../../src/capture/errors.js';
import { LINKTYPE, PcapWriter, Prng, type CaptureRecord, type PcapOptions } from '../../tools/craft/index.js';
import { readAll, removeTemp, writeTemp } from '../support/captures.js';

afterAll(removeTemp);

/** Records of varied sizes (some larger than the small read buffers used below). */
function sampleRecords(count: number, seed = 7): CaptureRecord[] {
  const rng = new Prng(seed);
  return Array.from({ length: count }, (_, i) => ({
    sec: 1738231200 + i,
    nsec: rng.int(0, 999_999) * 1000 + (i % 2 === 0 ? 0 : rng.int(1, 999)),
    data: rng.bytes(rng.int(1, 300)),
  }));
}

function build(options: PcapOptions, records: CaptureRecord[]): { bytes: Buffer; offsets: number[] } {
  const w = new PcapWriter(options);
  const offsets = records.map((r) => w.add(r));
  return { bytes: w.toBuffer(), offsets };
}

describe('classic pcap reader', () => {
  const records = sampleRecords(12);

  for (const byteOrder of ['le', 'be'] as const) {
    for (const nanosecond of [false, true]) {
      it(`reads ${byteOrder === 'le' ? 'little' : 'big'}-endian files with the ${nanosecond ? 'nano' : 'micro'}second magic`, async () => {
        const { bytes, offsets } = build({ linkType: LINKTYPE.ETHERNET, byteOrder, nanosecond }, records);
        const result = await readAll(writeTemp('orders.pcap', bytes));
        expect(result.error).toBeNull();
        expect(result.format).toBe('pcap');
        expect(result.packets).toHaveLength(records.length);
        result.packets.forEach((p, i) => {
          const r = records[i];
          expect(p.index).toBe(i + 1);
          expect(p.tsSec).toBe(r.sec);
          // A microsecond file keeps whole microseconds only.
          expect(p.tsNsec).toBe(nanosecond ? r.nsec : Math.floor(r.nsec / 1000) * 1000);
          expect(p.caplen).toBe(r.data.length);
          expect(p.origlen).toBe(r.data.length);
          expect(p.linkType).toBe(LINKTYPE.ETHERNET);
          expect(p.interfaceId).toBe(0);
          expect(p.recordOffset).toBe(offsets[i]);
          expect(p.data.equals(Buffer.from(r.data))).toBe(true);
        });
      });
    }
  }

  it('reports caplen and origlen of frames cut by the snap length', async () => {
    const long = [{ sec: 1, nsec: 0, data: Buffer.alloc(200, 0xab) }, { sec: 2, nsec: 0, data: Buffer.alloc(40, 0xcd) }];
    const { bytes } = build({ linkType: LINKTYPE.ETHERNET, snapLen: 64 }, long);
    const { packets, error } = await readAll(writeTemp('snap.pcap', bytes));
    expect(error).toBeNull();
    expect(packets.map((p) => [p.caplen, p.origlen])).toEqual([
      [64, 200],
      [40, 40],
    ]);
    expect(packets[0].data.equals(Buffer.alloc(64, 0xab))).toBe(true);
  });

  for (const linkType of [LINKTYPE.NULL, LINKTYPE.RAW, LINKTYPE.LINUX_SLL2, 147, 0xfffe]) {
    it(`carries link type ${linkType} through to every packet`, async () => {
      const { bytes } = build({ linkType, byteOrder: 'be' }, records.slice(0, 3));
      const { packets, error } = await readAll(writeTemp('link.pcap', bytes));
      expect(error).toBeNull();
      expect(packets.map((p) => p.linkType)).toEqual([linkType, linkType, linkType]);
    });
  }

  it('takes the link type from the low 16 bits when the FCS length bits are set', async () => {
    // LT_FCS_DATALINK_EXT(2): a 4-byte FCS on every Ethernet frame.
    const { bytes } = build({ linkType: 0x24000000 | LINKTYPE.ETHERNET }, records.slice(0, 2));
    const { packets, error } = await readAll(writeTemp('fcs.pcap', bytes));
    expect(error).toBeNull();
    expect(packets.map((p) => p.linkType)).toEqual([LINKTYPE.ETHERNET, LINKTYPE.ETHERNET]);
  });

  for (const chunkSize of [7, 64]) {
    it(`reads records that straddle a ${chunkSize}-byte read buffer`, async () => {
      for (const byteOrder of ['le', 'be'] as const) {
        const { bytes } = build({ linkType: LINKTYPE.ETHERNET, byteOrder, nanosecond: true }, records);
        const path = writeTemp('straddle.pcap', bytes);
        const whole = await readAll(path);
        const small = await readAll(path, { chunkSize });
        expect(small.error).toBeNull();
        expect(small.packets).toHaveLength(records.length);
        expect(small.packets).toEqual(whole.packets);
      }
    });
  }

  it('refuses an empty file as a CaptureError at offset 0', async () => {
    const path = writeTemp('empty.pcap', Buffer.alloc(0));
    const result = await readAll(path);
    expect(result.openFailed).toBe(true);
    expect(result.error).toBeInstanceOf(CaptureError);
    expect(result.error?.file).toBe(path);
    expect(result.error?.offset).toBe(0);
    expect(result.error?.reason).toMatch(/empty/);
  });

  it('refuses a file that is not a capture, naming the file', async () => {
    const path = writeTemp('notes.pcap', Buffer.from('MSH|^~\\&|this is a text file, not a capture\r'));
    const result = await readAll(path);
    expect(result.openFailed).toBe(true);
    expect(result.error?.file).toBe(path);
    expect(result.error?.offset).toBe(0);
    expect(result.error?.reason).toMatch(/not a pcap or pcapng/);
  });

  it('reports a file header cut short at offset 0', async () => {
    const { bytes } = build({ linkType: LINKTYPE.ETHERNET }, []);
    const result = await readAll(writeTemp('short-header.pcap', bytes.subarray(0, 15)));
    expect(result.packets).toHaveLength(0);
    expect(result.error).toBeInstanceOf(CaptureError);
    expect(result.error?.offset).toBe(0);
  });

  it('reads a header-only file as an empty capture', async () => {
    const { bytes } = build({ linkType: LINKTYPE.ETHERNET }, []);
    const result = await readAll(writeTemp('header-only.pcap', bytes));
    expect(result.error).toBeNull();
    expect(result.packets).toHaveLength(0);
  });

  for (const where of ['mid-header', 'mid-record'] as const) {
    for (const chunkSize of [undefined, 7]) {
      it(`delivers every packet before a record truncated ${where} and names its offset (chunk ${chunkSize ?? 'default'})`, async () => {
        const { bytes, offsets } = build({ linkType: LINKTYPE.ETHERNET }, records);
        const damaged = 7;
        const cut = offsets[damaged] + (where === 'mid-header' ? 9 : 16 + Math.floor(records[damaged].data.length / 2));
        const path = writeTemp('truncated.pcap', bytes.subarray(0, cut));
        const { packets, error } = await readAll(path, { chunkSize });
        expect(packets).toHaveLength(damaged);
        packets.forEach((p, i) => expect(p.data.equals(Buffer.from(records[i].data))).toBe(true));
        expect(error).toBeInstanceOf(CaptureError);
        expect(error?.file).toBe(path);
        expect(error?.offset).toBe(offsets[damaged]);
        expect(error?.message).toContain(`byte offset ${offsets[damaged]}`);
      });
    }
  }

  it('stops at a record whose caplen is impossible, after the records before it', async () => {
    const { bytes, offsets } = build({ linkType: LINKTYPE.ETHERNET, snapLen: 65535 }, records);
    const damaged = Buffer.from(bytes);
    damaged.writeUInt32LE(0x7fffffff, offsets[4] + 8);
    const { packets, error } = await readAll(writeTemp('caplen.pcap', damaged));
    expect(packets).toHaveLength(4);
    expect(error?.offset).toBe(offsets[4]);
    expect(error?.reason).toMatch(/caplen/);
  });

  it('reports short garbage after the last record at the garbage offset', async () => {
    const { bytes } = build({ linkType: LINKTYPE.ETHERNET }, records);
    const path = writeTemp('tail.pcap', Buffer.concat([bytes, Buffer.from([1, 2, 3, 4, 5])]));
    const { packets, error } = await readAll(path);
    expect(packets).toHaveLength(records.length);
    expect(error?.offset).toBe(bytes.length);
  });

  it('reports a garbage record header after the last record at the garbage offset', async () => {
    const { bytes } = build({ linkType: LINKTYPE.ETHERNET }, records);
    const path = writeTemp('tail.pcap', Buffer.concat([bytes, Buffer.alloc(64, 0xff)]));
    const { packets, error } = await readAll(path);
    expect(packets).toHaveLength(records.length);
    expect(error?.offset).toBe(bytes.length);
    expect(error?.reason).toMatch(/caplen/);
  });
});
