import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Analyzer, AnalyzerFactory, Direction } from '../../src/analyzers/analyzer.js';
import { cms8000Analyzer } from '../../src/analyzers/cms8000/analyzer.js';
import { hl7Analyzer } from '../../src/analyzers/hl7/analyzer.js';
import { ANALYZERS } from '../../src/analyzers/registry.js';
import { rpcAnalyzer } from '../../src/analyzers/rpc/analyzer.js';
import { ADT, ORU, bytes, mllp } from './hl7-fixtures.js';
import { MOUNT, PORTMAP, call, record, reply, str, xdr } from './rpc-fixtures.js';

type Transport = 'tcp' | 'udp';

function fresh(factory: AnalyzerFactory, transport: Transport): Analyzer {
  return factory.create({ flow: { transport, clientPort: 40000, serverPort: 515 }, evidence: 'redacted', emit() {}, expect() {}, anomaly() {} });
}

const cmsBlock = (type: number, body: number[]): Uint8Array => Uint8Array.of((2 + body.length) & 0xff, (2 + body.length) >> 8, 0x05, type, ...body);
const mountCall = call({ xid: 7, prog: MOUNT, vers: 3, proc: 1, args: xdr().raw(str('/pm')).bytes() });

/** Real first payloads of each protocol, the material the mutations below start from. */
const OPENINGS: Array<{ factory: AnalyzerFactory; transport: Transport; bytes: Uint8Array }> = [
  { factory: hl7Analyzer, transport: 'tcp', bytes: mllp(ORU) },
  { factory: hl7Analyzer, transport: 'tcp', bytes: bytes(`\r\n${ADT}`) },
  { factory: hl7Analyzer, transport: 'udp', bytes: bytes(ORU) },
  { factory: cms8000Analyzer, transport: 'tcp', bytes: cmsBlock(0x45, [0, 0, 3, 0xff]) },
  { factory: cms8000Analyzer, transport: 'tcp', bytes: cmsBlock(0x47, []) },
  { factory: rpcAnalyzer, transport: 'tcp', bytes: record(mountCall) },
  { factory: rpcAnalyzer, transport: 'tcp', bytes: record(reply(7, xdr().u32(0).bytes())) },
  { factory: rpcAnalyzer, transport: 'udp', bytes: call({ xid: 9, prog: PORTMAP, vers: 2, proc: 3 }) },
];

/** An opening cut short and with a few bytes overwritten, or bytes of no protocol at all. */
const firstPayload: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 96 }),
  fc
    .record({
      opening: fc.constantFrom(...OPENINGS.map((o) => o.bytes)),
      keep: fc.integer({ min: 1, max: 200 }),
      writes: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
    })
    .map(({ opening, keep, writes }) => {
      const b = opening.slice(0, Math.min(keep, opening.length));
      for (const [at, value] of writes) b[at % b.length] = value;
      return b;
    }),
);

describe('the first glance analyzers take at a flow', () => {
  // LPD glances only at flows picked up mid-stream: from a flow's start it reports flows that are not LPD.
  const glancing = ANALYZERS.filter((f) => f.mayAccept !== undefined && f.proto !== 'lpd');

  it('is taken by every analyzer but LPD, which reports flows that are not LPD', () => {
    expect(glancing.map((f) => f.proto).sort()).toEqual(['cms8000', 'dicom', 'hl7', 'rpc']);
  });

  it('LPD rules out every flow picked up mid-stream, and none from its start', () => {
    const lpd = ANALYZERS.find((f) => f.proto === 'lpd')!;
    expect(lpd.mayAccept!(bytes('\x02ward3\n'), 'tcp', true)).toBe(false);
    expect(lpd.mayAccept!(bytes('anything'), 'tcp', false)).toBe(true);
  });

  it('lets every real opening of its protocol through', () => {
    for (const o of OPENINGS) expect(o.factory.mayAccept!(o.bytes, o.transport), `${o.factory.proto} over ${o.transport}`).toBe(true);
  });

  // From the server, the app layer keeps a ruled-out analyzer waiting for the client's first bytes.
  it('rules a flow out only when the analyzer, given the same bytes first from the client, would reject it', () => {
    fc.assert(
      fc.property(firstPayload, fc.constantFrom<Direction>(0), (payload, dir) => {
        for (const factory of glancing) {
          for (const transport of factory.transports) {
            if (factory.mayAccept!(payload, transport)) continue;
            const analyzer = fresh(factory, transport);
            analyzer.data(dir, payload);
            expect(analyzer.verdict, `${factory.proto} over ${transport}`).toBe('reject');
          }
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('rules out the first bytes of common protocols that are none of these', () => {
    const others = {
      'TLS client hello': Uint8Array.of(0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, ...Array.from({ length: 32 }, (_, i) => (i * 37) & 0xff)),
      'HTTP request': bytes('GET / HTTP/1.1\r\nHost: pacs\r\n\r\n'),
      'SSH banner': bytes('SSH-2.0-OpenSSH_9.6\r\n'),
      'SMB2 over NetBIOS': Uint8Array.of(0x00, 0x00, 0x00, 0x66, 0xfe, 0x53, 0x4d, 0x42, 0x40, 0x00, 0x00, 0x00),
    };
    for (const [name, payload] of Object.entries(others)) {
      for (const factory of glancing) expect(factory.mayAccept!(payload, 'tcp'), `${factory.proto} on ${name}`).toBe(false);
    }
  });
});
