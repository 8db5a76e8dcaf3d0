import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Direction } from '../../src/analyzers/analyzer.js';
import {
  AUTH_NONE, MOUNT, NFS, PORTMAP, authUnix, call, concat, handle, harness, pmapMapping, record, reply,
  rpcbArgs, str, u32, xdr, type Cred,
} from './rpc-fixtures.js';

const CAP = 2048;
/** Per direction: a record prefix under the cap, the hunt window, a partial record mark. */
const BUFFER_BOUND = 2 * (CAP + 2048 + 3);

type Chunk = { dir: Direction; bytes: Uint8Array } | { dir: Direction; gap: number };

const chunkArb: fc.Arbitrary<Chunk> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ dir: fc.constantFrom<Direction>(0, 1), bytes: fc.uint8Array({ maxLength: 300 }) }) },
  { weight: 1, arbitrary: fc.record({ dir: fc.constantFrom<Direction>(0, 1), gap: fc.integer({ min: 1, max: 5000 }) }) },
);

function feed(h: ReturnType<typeof harness>, chunks: Chunk[]): void {
  for (const c of chunks) {
    if ('gap' in c) h.analyzer.gap(c.dir, c.gap);
    else h.analyzer.data(c.dir, c.bytes);
    expect(h.analyzer.bufferedBytes).toBeLessThanOrEqual(BUFFER_BOUND);
  }
  h.analyzer.end();
}

const credArb: fc.Arbitrary<Cred> = fc.oneof(
  fc.constant(AUTH_NONE),
  fc.record({
    stamp: fc.nat(),
    machine: fc.string({ maxLength: 40 }),
    uid: fc.nat(),
    gid: fc.nat(),
    gids: fc.array(fc.nat(), { maxLength: 16 }),
  }).map(authUnix),
);

/** A call and its reply for one of the programs decoded, with random fields. */
const exchangeArb = fc
  .record({
    xid: fc.nat({ max: 0xffffffff }),
    cred: credArb,
    kind: fc.integer({ min: 0, max: 7 }),
    port: fc.integer({ min: 0, max: 0xffff }),
    path: fc.string({ maxLength: 60 }),
    fh: fc.uint8Array({ minLength: 1, maxLength: 64 }),
    acceptStat: fc.constantFrom(0, 0, 0, 1, 3),
    status: fc.constantFrom(0, 0, 2, 13, 70),
    data: fc.integer({ min: 0, max: 3000 }),
  })
  .map(({ xid, cred, kind, port, path, fh, acceptStat, status, data }) => {
    let req: Uint8Array;
    let res: Uint8Array;
    switch (kind) {
      case 0:
        req = call({ xid, cred, prog: PORTMAP, vers: 2, proc: 3, args: pmapMapping(MOUNT, 1, 17) });
        res = u32(port);
        break;
      case 1:
        req = call({ xid, cred, prog: PORTMAP, vers: 4, proc: 3, args: rpcbArgs(NFS, 3, 'tcp') });
        res = str(`10.1.2.3.${port >> 8}.${port & 0xff}`);
        break;
      case 2:
        req = call({ xid, cred, prog: MOUNT, vers: 1, proc: 1, args: str(path) });
        res = xdr().u32(status).fixed(status === 0 ? handle(32, fh[0]) : []).bytes();
        break;
      case 3:
        req = call({ xid, cred, prog: MOUNT, vers: 3, proc: 1, args: str(path) });
        res = status === 0 ? xdr().u32(0).opaque(fh).u32(1).u32(1).bytes() : u32(status);
        break;
      case 4:
        req = call({ xid, cred, prog: NFS, vers: 3, proc: 7, args: xdr().opaque(fh).u64(0).u32(data).u32(2).opaque(new Uint8Array(data)).bytes() });
        res = xdr().u32(status).raw(new Uint8Array(40)).bytes();
        break;
      case 5:
        req = call({ xid, cred, prog: NFS, vers: 2, proc: 4, args: xdr().fixed(handle(32, 1)).string(path).bytes() });
        res = xdr().u32(status).bytes();
        break;
      case 6:
        req = call({
          xid, cred, prog: NFS, vers: 4, proc: 1,
          args: xdr().string('').u32(0).u32(3).u32(24).u32(15).string(path).u32(10).bytes(),
        });
        res = xdr().u32(status).string('').u32(0).bytes();
        break;
      default:
        req = call({ xid, cred, prog: 100021, vers: 4, proc: 2, args: new Uint8Array(12) });
        res = u32(0);
    }
    return { req, res: reply(xid, acceptStat === 0 ? res : new Uint8Array(0), acceptStat) };
  });

const conversationArb = fc.record({
  exchanges: fc.array(exchangeArb, { minLength: 1, maxLength: 8 }),
  fragments: fc.array(fc.integer({ min: 1, max: 50 }), { maxLength: 3 }),
});

function streams(conv: { exchanges: { req: Uint8Array; res: Uint8Array }[]; fragments: number[] }) {
  return [
    concat(...conv.exchanges.map((e) => record(e.req, conv.fragments))),
    concat(...conv.exchanges.map((e) => record(e.res))),
  ] as const;
}

describe('rpc analyzer properties', () => {
  it('never throws on random TCP bytes, splits and gaps, and stays bounded', () => {
    fc.assert(
      fc.property(fc.array(chunkArb, { maxLength: 40 }), (chunks) => {
        feed(harness('tcp', { options: { maxRecordBytes: CAP } }), chunks);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on random bytes once the flow has matched (resync and hunting paths)', () => {
    fc.assert(
      fc.property(fc.array(chunkArb, { maxLength: 40 }), (chunks) => {
        const h = harness('tcp', { options: { maxRecordBytes: CAP } });
        h.analyzer.data(0, record(call({ xid: 1, prog: NFS, vers: 3, proc: 0 })));
        h.analyzer.data(1, record(reply(1)));
        feed(h, chunks);
        expect(h.analyzer.verdict).toBe('match');
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on random UDP datagrams', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ dir: fc.constantFrom<Direction>(0, 1), bytes: fc.uint8Array({ maxLength: 600 }) }), { maxLength: 20 }), (grams) => {
        const h = harness('udp');
        h.analyzer.data(0, call({ xid: 1, prog: MOUNT, vers: 3, proc: 0 }));
        for (const g of grams) h.analyzer.data(g.dir, g.bytes);
        h.analyzer.end();
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on valid conversations with bytes corrupted', () => {
    fc.assert(
      fc.property(
        conversationArb,
        fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 12 }),
        (conv, flips) => {
          const [calls, replies] = streams(conv).map((s) => Uint8Array.from(s));
          for (const { at, value } of flips) {
            const target = at % 2 === 0 ? calls : replies;
            target[at % target.length] = value;
          }
          feed(harness('tcp', { options: { maxRecordBytes: CAP } }), [{ dir: 0, bytes: calls }, { dir: 1, bytes: replies }]);
          const udp = harness('udp');
          for (const e of conv.exchanges) {
            const req = Uint8Array.from(e.req);
            req[flips[0].at % req.length] = flips[0].value;
            udp.analyzer.data(0, req);
            udp.analyzer.data(1, e.res.subarray(0, flips[0].at % (e.res.length + 1)));
          }
          udp.analyzer.end();
        },
      ),
      { numRuns: 200 },
    );
  });

  it('splitting a valid TCP stream anywhere yields the same events as one call', () => {
    fc.assert(
      fc.property(
        conversationArb,
        fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 30 }),
        (conv, cuts) => {
          const [calls, replies] = streams(conv);
          const whole = harness('tcp');
          whole.analyzer.data(0, calls);
          whole.analyzer.data(1, replies);
          whole.analyzer.end();

          const split = harness('tcp');
          for (const [dir, bytes] of [[0, calls], [1, replies]] as const) {
            let at = 0;
            for (let i = 0; at < bytes.length; i++) {
              const n = cuts[i % cuts.length];
              split.analyzer.data(dir, bytes.subarray(at, at + n));
              at += n;
            }
          }
          split.analyzer.end();

          expect(whole.analyzer.verdict).toBe('match');
          expect(split.events).toEqual(whole.events);
          expect(split.expectations).toEqual(whole.expectations);
          expect(whole.of('rpc.call')).toHaveLength(conv.exchanges.length);
          expect(whole.of('rpc.reply')).toHaveLength(conv.exchanges.length);
        },
      ),
      { numRuns: 200 },
    );
  });
});
