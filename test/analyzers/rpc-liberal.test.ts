/**
 * The RPC analyzer does not depend on the peer keeping to the RFCs: credentials over RFC 5531's
 * 400 bytes, unknown auth flavors, MOUNT/NFS versions and procedures no RFC defines, export
 * paths over MNTPATHLEN, and TCP flows picked up mid-stream are all decoded, and counted as
 * anomalies where a limit was broken. Bounds that remain protect the sensor only.
 */
import { describe, expect, it } from 'vitest';
import { rpcAnalyzer } from '../../src/analyzers/rpc/analyzer.js';
import { MOUNT, NFS, call, concat, feedSplit, harness, record, reply, str, u32, xdr, type Cred } from './rpc-fixtures.js';

/** AUTH_UNIX with a long machine name and 100 groups: `size` bytes of body (at least 428). */
function bigAuthUnix(size: number): Cred {
  const machine = 'cms8000-'.padEnd(Math.max(8, size - 20 - 4 * 100), 'x');
  const w = xdr().u32(1738231200).string(machine).u32(0).u32(0).u32(100);
  for (let g = 0; g < 100; g++) w.u32(g);
  return { flavor: 1, body: w.bytes() };
}

const mnt = (xid: number, cred?: Cred, vers = 3, path = '/pm') => call({ xid, prog: MOUNT, vers, proc: 1, cred, args: str(path) });

describe('rpc analyzer: credentials and verifiers over 400 bytes', () => {
  it('decodes a MNT call with 2 kB AUTH_UNIX credentials over UDP and counts the RFC violation', () => {
    const h = harness('udp', { serverPort: 20048 });
    const cred = bigAuthUnix(2000);
    expect(cred.body.length).toBeGreaterThan(1900);
    h.analyzer.data(0, mnt(7, cred));
    expect(h.analyzer.verdict).toBe('match');
    expect(h.of('mount.call')).toMatchObject([{ procedure: 'MNT', path: '/pm', version: 3 }]);
    const auth = h.of('rpc.call')[0].auth;
    expect(auth).toMatchObject({ flavor: 'unix', uid: 0, gid: 0 });
    expect(auth.machineName?.startsWith('cms8000-')).toBe(true);
    expect(auth.gids).toHaveLength(64); // the first 64 of 100 are listed
    expect(h.anomalies).toEqual(['rpc.oversized_auth']);
    expect(h.analyzer.stats.oversizedAuth).toBe(1);
  });

  it('decodes the same call over TCP, whatever the segment boundaries', () => {
    for (const sizes of [[], [3, 50, 700], [1, 1, 1, 1, 1000]]) {
      const h = harness('tcp', { serverPort: 20048 });
      feedSplit(h, 0, record(mnt(7, bigAuthUnix(3000))), sizes);
      h.analyzer.data(1, record(reply(7, u32(0))));
      expect(h.of('mount.call').map((e) => e.path)).toEqual(['/pm']);
      expect(h.of('mount.reply').map((e) => e.status)).toEqual([0]);
      expect(h.analyzer.stats.oversizedAuth).toBe(1);
    }
  });

  it('decodes a call and a reply whose verifiers exceed 400 bytes', () => {
    const h = harness('udp', { serverPort: 20048 });
    const bigVerifier = (head: Uint8Array) => concat(head, xdr().u32(6).opaque(new Uint8Array(600)).bytes());
    const callHead = xdr().u32(9).u32(0).u32(2).u32(MOUNT).u32(3).u32(1).u32(0).opaque([]).bytes();
    h.analyzer.data(0, concat(bigVerifier(callHead), str('/pm')));
    const replyHead = xdr().u32(9).u32(1).u32(0).bytes();
    h.analyzer.data(1, concat(bigVerifier(replyHead), u32(0), u32(0), xdr().opaque(new Uint8Array(8)).bytes(), u32(0)));
    expect(h.of('mount.call').map((e) => e.path)).toEqual(['/pm']);
    expect(h.of('rpc.reply').map((e) => e.status)).toEqual(['success']);
    expect(h.analyzer.stats.oversizedAuth).toBe(2);
  });

  it('decodes a MNT call with a credential flavor no RPC stack sends, and counts it', () => {
    const h = harness('udp', { serverPort: 20048 });
    h.analyzer.data(0, mnt(1, { flavor: 0x5a5a, body: new Uint8Array(12) }));
    expect(h.of('mount.call').map((e) => e.path)).toEqual(['/pm']);
    expect(h.of('rpc.call')[0].auth.flavor).toBe('flavor-23130');
    expect(h.anomalies).toEqual(['rpc.unknown_auth_flavor']);
  });

  it('still refuses credentials longer than the datagram that carries them (they cannot be read)', () => {
    const h = harness('udp', { serverPort: 20048 });
    const m = mnt(1, bigAuthUnix(1000));
    h.analyzer.data(0, m.subarray(0, 600));
    expect(h.analyzer.verdict).toBe('reject');
    expect(h.events).toEqual([]);
  });
});

describe('rpc analyzer: MOUNT and NFS beyond the versions and procedures the RFCs define', () => {
  it('reads a MNT of an unknown MOUNT version as a MNT and keeps analysing the flow', () => {
    const h = harness('tcp', { serverPort: 20048 });
    h.analyzer.data(0, record(mnt(1, undefined, 0x10004, '/pm')));
    h.analyzer.data(0, record(call({ xid: 2, prog: MOUNT, vers: 3, proc: 42 })));
    h.analyzer.data(0, record(mnt(3, undefined, 3, '/export')));
    expect(h.analyzer.verdict).toBe('match');
    expect(h.of('mount.call').map((e) => [e.version, e.procedure, e.path])).toEqual([
      [0x10004, 'MNT', '/pm'],
      [3, '42', undefined],
      [3, 'MNT', '/export'],
    ]);
    expect(h.anomalies).toEqual(['mount.unknown_version', 'mount.unknown_procedure']);
  });

  it('reports NFS calls of unknown versions and procedures, and the next call is decoded', () => {
    const h = harness('tcp', { serverPort: 2049 });
    h.analyzer.data(0, record(call({ xid: 1, prog: NFS, vers: 5, proc: 1 })));
    h.analyzer.data(0, record(call({ xid: 2, prog: NFS, vers: 3, proc: 99 })));
    h.analyzer.data(0, record(call({ xid: 3, prog: NFS, vers: 3, proc: 1, args: xdr().opaque(new Uint8Array(32)).bytes() })));
    expect(h.of('nfs.call').map((e) => `${e.version} ${e.procedure}`)).toEqual(['5 1', '3 99', '3 GETATTR']);
    expect(h.anomalies).toEqual(['nfs.unknown_version', 'nfs.unknown_procedure']);
  });

  it('reports an export path over MNTPATHLEN (1024 bytes) and counts it', () => {
    const h = harness('udp', { serverPort: 20048 });
    const path = '/' + 'p'.repeat(1500);
    h.analyzer.data(0, mnt(1, undefined, 3, path));
    expect(h.of('mount.call').map((e) => e.path)).toEqual([path]);
    expect(h.anomalies).toEqual(['mount.long_path']);
  });
});

describe('rpc analyzer: TCP flows picked up mid-stream', () => {
  const tail = new Uint8Array(700).fill(0x41); // the end of a record sent before the capture began

  it('is not ruled out at a glance when its first bytes are not a record mark', () => {
    expect(rpcAnalyzer.mayAccept?.(tail, 'tcp', false)).toBe(false);
    expect(rpcAnalyzer.mayAccept?.(tail, 'tcp', true)).toBe(true);
  });

  it('finds the first record mark after the tail of an earlier record, in both directions', () => {
    const h = harness('tcp', { serverPort: 20048, midstream: true });
    feedSplit(h, 0, concat(tail, record(mnt(5, bigAuthUnix(600))), record(mnt(6))), [100, 650, 9]);
    feedSplit(h, 1, concat(tail.subarray(0, 33), record(reply(5, u32(0))), record(reply(6, u32(13)))), [40]);
    h.analyzer.end();
    expect(h.analyzer.verdict).toBe('match');
    expect(h.of('mount.call').map((e) => e.xid)).toEqual([5, 6]);
    expect(h.of('mount.reply').map((e) => e.status)).toEqual([0, 13]);
    expect(h.analyzer.stats.resyncs).toBe(2);
  });

  it('finds a call whose credentials are longer than the hunt looks at', () => {
    const h = harness('tcp', { serverPort: 20048, midstream: true });
    h.analyzer.data(0, concat(tail, record(mnt(5, bigAuthUnix(5000)))));
    h.analyzer.end();
    expect(h.of('mount.call').map((e) => e.path)).toEqual(['/pm']);
  });

  it('starts at the first byte when the capture begins on a record mark', () => {
    const h = harness('tcp', { serverPort: 20048, midstream: true });
    h.analyzer.data(0, record(mnt(5)));
    expect(h.of('mount.call').map((e) => e.path)).toEqual(['/pm']);
  });

  it('gives up on a mid-stream flow that holds no record within 64 KiB', () => {
    const h = harness('tcp', { serverPort: 443, midstream: true });
    const noise = Uint8Array.from({ length: 80 * 1024 }, (_, i) => (i * 131 + (i >> 7)) & 0xff);
    feedSplit(h, 0, noise, [1448, 1448, 1448]);
    expect(h.analyzer.verdict).toBe('reject');
    expect(h.events).toEqual([]);
  });
});

describe('rpc analyzer: a lost segment', () => {
  it('hunts past a reply whose verifier is longer than the hunt window, and never stalls', () => {
    const h = harness('tcp', { serverPort: 20048 });
    h.analyzer.data(1, record(reply(1, u32(0))));
    h.analyzer.gap(1, 100);
    const longVerifier = concat(xdr().u32(2).u32(1).u32(0).u32(6).opaque(new Uint8Array(3000)).bytes(), u32(0));
    h.analyzer.data(1, concat(new Uint8Array(12), record(longVerifier), record(reply(3, u32(0)))));
    h.analyzer.data(0, record(mnt(3)));
    h.analyzer.end();
    expect(h.of('rpc.reply').map((e) => e.xid)).toEqual([1, 3]);
    expect(h.of('mount.call').map((e) => e.path)).toEqual(['/pm']);
  });

  it('resynchronises on the next call after a gap that swallowed the end of a record with oversized credentials', () => {
    const h = harness('tcp', { serverPort: 20048 });
    // The path is within the first 1000 bytes; the bytes after it never arrive.
    const first = record(call({ xid: 1, prog: MOUNT, vers: 3, proc: 1, cred: bigAuthUnix(600), args: concat(str('/pm'), new Uint8Array(2000)) }));
    h.analyzer.data(0, first.subarray(0, 1000));
    h.analyzer.gap(0, first.length); // the rest of the first record and the start of what followed
    h.analyzer.data(0, concat(new Uint8Array(40), record(mnt(2, bigAuthUnix(3000), 3, '/export')), record(mnt(3))));
    h.analyzer.end();
    expect(h.of('mount.call').map((e) => e.xid)).toEqual([1, 2, 3]);
    expect(h.of('mount.call').map((e) => e.path)).toEqual(['/pm', '/export', '/pm']);
    expect(h.analyzer.stats.resyncs).toBe(1);
  });
});
