import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureError } from '../../src/capture/errors.js';
import { LINKTYPE, PCAPNG_BLOCK, PcapngWriter, PcapWriter, Prng } from '../../tools/craft/index.js';
import { readAll, removeTemp, writeTemp } from '../support/captures.js';

afterAll(removeTemp);

interface Base {
  bytes: Buffer;
  /** Offsets of length fields worth lying in. */
  lengthFields: number[];
}

function basePcap(): Base {
  const rng = new Prng(3);
  const w = new PcapWriter({ linkType: LINKTYPE.ETHERNET, snapLen: 1500 });
  const lengthFields = [16];
  for (let i = 0; i < 8; i++) {
    const at = w.add({ sec: 1738231200 + i, nsec: i * 1000, data: rng.bytes(rng.int(1, 200)) });
    lengthFields.push(at + 8, at + 12);
  }
  return { bytes: w.toBuffer(), lengthFields };
}

function basePcapng(): Base {
  const rng = new Prng(4);
  const w = new PcapngWriter();
  const blocks: number[] = [];
  const epbCaplens: number[] = [];
  const mark = <T>(write: () => T): T => {
    blocks.push(w.length);
    return write();
  };
  mark(() => w.section({ byteOrder: 'be', application: 'fuzz' }));
  mark(() => w.addInterface({ linkType: LINKTYPE.ETHERNET, tsresol: { base: 2, exponent: 30 }, tsoffset: 1000, name: 'eth0' }));
  mark(() => w.addInterface({ linkType: LINKTYPE.RAW, snapLen: 64 }));
  for (let i = 0; i < 3; i++) epbCaplens.push(mark(() => w.enhanced(i % 2, { sec: 1738231200 + i, nsec: 7, data: rng.bytes(rng.int(1, 120)) })) + 20);
  mark(() => w.simple({ data: rng.bytes(90) }));
  mark(() => w.block(PCAPNG_BLOCK.NRB, Buffer.alloc(8)));
  mark(() => w.section({ byteOrder: 'le' }));
  mark(() => w.addInterface({ linkType: LINKTYPE.LINUX_SLL, tsresol: { base: 10, exponent: 9 } }));
  mark(() => w.obsoletePacket(0, { sec: 5, nsec: 5, data: rng.bytes(40) }));
  for (let i = 0; i < 2; i++) epbCaplens.push(mark(() => w.enhanced(0, { sec: 1738231300 + i, nsec: 9, data: rng.bytes(rng.int(1, 120)) })) + 20);
  const bytes = w.toBuffer();
  const lengthFields = [...epbCaplens];
  for (const at of blocks) {
    lengthFields.push(at + 4);
    // The trailing copy: the leading length is in the section's byte order, so try both.
    const le = bytes.readUInt32LE(at + 4);
    const be = bytes.readUInt32BE(at + 4);
    const length = at + le <= bytes.length && le >= 12 ? le : be;
    lengthFields.push(at + length - 4);
  }
  return { bytes, lengthFields };
}

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'length'; field: number; value: number; le: boolean }
  | { kind: 'overwrite'; at: number; bytes: Uint8Array };

const lengthValue = fc.oneof(
  fc.constantFrom(0, 1, 3, 4, 11, 12, 13, 16, 20, 28, 31, 32, 33, 0xffff, 0x7fffffff, 0xfffffffc, 0xffffffff),
  fc.integer({ min: 0, max: 0xffffffff }),
  fc.integer({ min: 0, max: 2048 }),
);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('length' as const), field: fc.nat(), value: lengthValue, le: fc.boolean() }),
  fc.record({ kind: fc.constant('overwrite' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
);

function mutate(base: Base, mutations: Mutation[]): Buffer {
  let b = Buffer.from(base.bytes);
  for (const m of mutations) {
    if (b.length === 0) break;
    switch (m.kind) {
      case 'flip':
        b[m.at % b.length] ^= 1 << m.bit;
        break;
      case 'truncate':
        b = b.subarray(0, m.at % b.length);
        break;
      case 'length': {
        const at = base.lengthFields[m.field % base.lengthFields.length];
        if (at + 4 <= b.length) {
          if (m.le) b.writeUInt32LE(m.value, at);
          else b.writeUInt32BE(m.value, at);
        }
        break;
      }
      case 'overwrite':
        Buffer.from(m.bytes).copy(b, m.at % b.length);
        break;
    }
  }
  return b;
}

/** Reads the bytes with a bounded loop and checks what a user of the reader relies on. */
async function readsSafely(bytes: Buffer, chunkSize: number): Promise<void> {
  const path = writeTemp('fuzz.cap', bytes);
  const result = await readAll(path, { chunkSize, maxTurns: 100_000 });
  if (result.error !== null) {
    expect(result.error).toBeInstanceOf(CaptureError);
    expect(result.error.file).toBe(path);
    expect(result.error.offset).toBeGreaterThanOrEqual(0);
    // Offsets of compressed input count decompressed bytes; plain input must point inside the file.
    if (!result.compressed && bytes.length > 0) expect(result.error.offset).toBeLessThan(bytes.length);
  }
  let previous = -1;
  for (const p of result.packets) {
    expect(p.data.length).toBe(p.caplen);
    expect(p.recordOffset).toBeGreaterThan(previous);
    previous = p.recordOffset;
    // The bytes handed out lie inside their record: after a pcap record's 16-byte header, or
    // inside a pcapng block (at least 12 bytes before the data and a 4-byte trailer after it).
    if (!result.compressed) expect(p.recordOffset + 16 + p.caplen).toBeLessThanOrEqual(bytes.length);
  }
}

const chunkSize = fc.constantFrom(7, 64, 4096);
const RUNS = 500;

describe('capture readers on damaged input', () => {
  const pcap = basePcap();
  const pcapng = basePcapng();

  it('read the undamaged bases completely', async () => {
    expect((await readAll(writeTemp('base.pcap', pcap.bytes))).packets).toHaveLength(8);
    const ng = await readAll(writeTemp('base.pcapng', pcapng.bytes));
    expect(ng.error).toBeNull();
    expect(ng.packets).toHaveLength(7);
  });

  it('never throw or hang on random bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), chunkSize, async (bytes, chunk) => readsSafely(Buffer.from(bytes), chunk)),
      { numRuns: RUNS },
    );
  });

  it('never throw or hang on random bytes behind a valid magic', async () => {
    const magics = [pcap.bytes.subarray(0, 24), pcapng.bytes.subarray(0, 12), Buffer.from([0x1f, 0x8b, 0x08, 0x00])];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...magics), fc.uint8Array({ maxLength: 600 }), chunkSize, async (magic, bytes, chunk) =>
        readsSafely(Buffer.concat([magic, bytes]), chunk),
      ),
      { numRuns: RUNS },
    );
  });

  it('never throw or hang on a damaged pcap', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 6 }), chunkSize, async (mutations, chunk) =>
        readsSafely(mutate(pcap, mutations), chunk),
      ),
      { numRuns: RUNS },
    );
  });

  it('never throw or hang on a damaged pcapng', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 6 }), chunkSize, async (mutations, chunk) =>
        readsSafely(mutate(pcapng, mutations), chunk),
      ),
      { numRuns: RUNS },
    );
  });
});
