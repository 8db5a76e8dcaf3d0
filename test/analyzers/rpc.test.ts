import { describe, expect, it } from 'vitest';
import { rpcAnalyzer } from '../../src/analyzers/rpc/analyzer.js';
import {
  AUTH_NONE, MOUNT, NFS, PORTMAP, ascii, authUnix, call, concat, deniedAuth, deniedVersion, feedSplit,
  handle, harness, pmapMapping, record, reply, str, u32, xdr,
} from './rpc-fixtures.js';

const getport = (xid: number) =>
  call({ xid, prog: PORTMAP, vers: 2, proc: 3, args: pmapMapping(MOUNT, 1, 17) });

const mnt = (xid: number, path = '/pm') => call({ xid, prog: MOUNT, vers: 3, proc: 1, args: str(path) });

describe('rpc analyzer: factory', () => {
  it('is the rpc analyzer for TCP and UDP', () => {
    expect(rpcAnalyzer.proto).toBe('rpc');
    expect([...rpcAnalyzer.transports].sort()).toEqual(['tcp', 'udp']);
    const a = rpcAnalyzer.create({
      flow: { transport: 'udp', clientPort: 700, serverPort: 111 },
      evidence: 'redacted',
      emit: () => {},
      expect: () => {},
      anomaly: () => {},
    });
    expect(a.verdict).toBe('probing');
    a.data(0, getport(1));
    expect(a.verdict).toBe('match');
  });
});

describe('rpc analyzer: calls and replies over UDP', () => {
  it('decodes a call with AUTH_UNIX credentials', () => {
    const h = harness('udp');
    const cred = authUnix({ stamp: 0x5f3e1a2b, machine: 'monitor-7', uid: 0, gid: 0, gids: [0, 1, 2] });
    h.analyzer.data(0, call({ xid: 0x11223344, prog: PORTMAP, vers: 2, proc: 3, cred, args: pmapMapping(MOUNT, 1, 17) }));
    expect(h.analyzer.verdict).toBe('match');
    expect(h.of('rpc.call')).toEqual([
      {
        type: 'rpc.call', proto: 'rpc', dir: 0, xid: 0x11223344, program: PORTMAP, programName: 'portmap',
        version: 2, procedure: 3, procedureName: 'GETPORT',
        auth: { flavor: 'unix', stamp: 0x5f3e1a2b, machineName: 'monitor-7', uid: 0, gid: 0, gids: [0, 1, 2] },
      },
    ]);
  });

  it('leaves AUTH_UNIX details out in the none evidence mode', () => {
    const h = harness('udp', { evidence: 'none' });
    const cred = authUnix({ stamp: 1, machine: 'ward-3-bed-12', uid: 1000, gid: 1000, gids: [] });
    h.analyzer.data(0, call({ xid: 1, prog: MOUNT, vers: 1, proc: 1, cred, args: str('/pm') }));
    expect(h.of('rpc.call')[0].auth).toEqual({ flavor: 'unix' });
    expect(h.of('mount.call')[0].path).toBeUndefined();
  });

  it('names other credential flavors', () => {
    const h = harness('udp');
    h.analyzer.data(0, call({ xid: 1, prog: NFS, vers: 3, proc: 0, cred: { flavor: 6, body: new Uint8Array(24) } }));
    h.analyzer.data(0, call({ xid: 2, prog: NFS, vers: 3, proc: 0, cred: { flavor: 2, body: new Uint8Array(8) } }));
    h.analyzer.data(0, call({ xid: 3, prog: NFS, vers: 3, proc: 0, cred: { flavor: 5, body: new Uint8Array(8) } }));
    expect(h.of('rpc.call').map((e) => e.auth.flavor)).toEqual(['gss', 'short', 'flavor-5']);
  });

  it('matches a reply to its call by xid', () => {
    const h = harness('udp');
    h.analyzer.data(0, getport(7));
    h.analyzer.data(0, mnt(8));
    h.analyzer.data(1, reply(8, u32(13)));
    h.analyzer.data(1, reply(7, u32(635)));
    expect(h.of('rpc.reply')).toEqual([
      { type: 'rpc.reply', proto: 'rpc', dir: 1, xid: 8, program: MOUNT, version: 3, procedure: 1, status: 'success' },
      { type: 'rpc.reply', proto: 'rpc', dir: 1, xid: 7, program: PORTMAP, version: 2, procedure: 3, status: 'success' },
    ]);
    expect(h.analyzer.pendingCalls).toBe(0);
  });

  it('reports accept and reject statuses', () => {
    const h = harness('udp');
    for (let xid = 1; xid <= 5; xid++) h.analyzer.data(0, mnt(xid));
    h.analyzer.data(1, reply(1, new Uint8Array(0), 1));
    h.analyzer.data(1, reply(2, new Uint8Array(0), 2));
    h.analyzer.data(1, reply(3, new Uint8Array(0), 4));
    h.analyzer.data(1, deniedAuth(4, 5));
    h.analyzer.data(1, deniedVersion(5));
    expect(h.of('rpc.reply').map((e) => [e.status, e.denial])).toEqual([
      ['prog_unavail', undefined],
      ['prog_mismatch', undefined],
      ['garbage_args', undefined],
      ['denied', 'auth_tooweak'],
      ['denied', 'rpc_mismatch'],
    ]);
    // Only a successful reply carries MNT results.
    expect(h.of('mount.reply')).toEqual([]);
  });

  it('reports a reply whose call was not seen, without matching on it', () => {
    const h = harness('udp');
    h.analyzer.data(1, reply(99, u32(2049)));
    expect(h.of('rpc.reply')).toEqual([
      { type: 'rpc.reply', proto: 'rpc', dir: 1, xid: 99, program: -1, version: -1, procedure: -1, status: 'success' },
    ]);
    expect(h.of('portmap.mapping')).toEqual([]);
    expect(h.analyzer.verdict).toBe('probing');
    expect(h.analyzer.stats.unmatchedReplies).toBe(1);
  });

  it('does not match a reply travelling the same way as the call', () => {
    const h = harness('udp');
    h.analyzer.data(0, getport(5));
    h.analyzer.data(0, reply(5, u32(635)));
    expect(h.of('rpc.reply')[0].program).toBe(-1);
  });

  it('bounds the outstanding-call table at 1024, dropping the oldest', () => {
    const h = harness('udp');
    for (let xid = 1; xid <= 1025; xid++) h.analyzer.data(0, mnt(xid));
    expect(h.analyzer.pendingCalls).toBe(1024);
    expect(h.analyzer.stats.evictedCalls).toBe(1);
    h.analyzer.data(1, reply(1, u32(0)));
    h.analyzer.data(1, reply(2, u32(0)));
    h.analyzer.data(1, reply(1025, u32(0)));
    expect(h.of('rpc.reply').map((e) => e.program)).toEqual([-1, MOUNT, MOUNT]);
  });

  it('keeps a retransmitted call once, as the newest', () => {
    const h = harness('udp', { options: { maxPendingCalls: 2 } });
    h.analyzer.data(0, mnt(1));
    h.analyzer.data(0, mnt(2));
    h.analyzer.data(0, mnt(1)); // retransmission
    h.analyzer.data(0, mnt(3)); // evicts 2, the oldest now
    expect(h.analyzer.pendingCalls).toBe(2);
    h.analyzer.data(1, reply(1, u32(0)));
    h.analyzer.data(1, reply(2, u32(0)));
    expect(h.of('rpc.reply').map((e) => e.program)).toEqual([MOUNT, -1]);
  });
});

describe('rpc analyzer: rejection', () => {
  const http = ascii('GET /index.html HTTP/1.1\r\nHost: pacs.example\r\n\r\n');
  const hl7 = concat(Uint8Array.of(0x0b), ascii('MSH|^~\\&|CMS|WARD3|HIS|HOSP|20250101120000||ORU^R01|1|P|2.3\r'), Uint8Array.of(0x1c, 0x0d));
  const garbage = Uint8Array.from({ length: 200 }, (_, i) => (i * 73 + 41) & 0xff);
  const tls = Uint8Array.of(0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0x11, 0x22, 0x33, 0x44, 0x55);
  const zeros = new Uint8Array(64);

  for (const [name, bytes] of [['HTTP', http], ['HL7 over MLLP', hl7], ['garbage', garbage], ['TLS', tls], ['zeros', zeros]] as const) {
    it(`rejects ${name} on the first TCP data`, () => {
      const h = harness('tcp');
      h.analyzer.data(0, bytes);
      expect(h.analyzer.verdict).toBe('reject');
      expect(h.events).toEqual([]);
    });

    it(`rejects ${name} in the first UDP datagram`, () => {
      const h = harness('udp');
      h.analyzer.data(0, bytes);
      expect(h.analyzer.verdict).toBe('reject');
      expect(h.events).toEqual([]);
    });
  }

  it('rejects HTTP within its first 12 bytes when they trickle in', () => {
    const h = harness('tcp');
    let fed = 0;
    while (h.analyzer.verdict !== 'reject' && fed < http.length) h.analyzer.data(0, http.subarray(fed, ++fed));
    expect(h.analyzer.verdict).toBe('reject');
    expect(fed).toBeLessThanOrEqual(12);
  });

  it('rejects a server that speaks first with something that is not a reply', () => {
    const h = harness('tcp');
    h.analyzer.data(1, ascii('220 mail.example ESMTP ready\r\n'));
    expect(h.analyzer.verdict).toBe('reject');
  });

  it('rejects a call with a wrong RPC version, or credentials no RPC stack sends to a program not decoded here', () => {
    const badVersion = call({ xid: 1, prog: NFS, vers: 3, proc: 1 });
    badVersion[11] = 3;
    const h1 = harness('udp');
    h1.analyzer.data(0, badVersion);
    expect(h1.analyzer.verdict).toBe('reject');

    const h2 = harness('udp');
    h2.analyzer.data(0, call({ xid: 1, prog: 200_001, vers: 3, proc: 1, cred: { flavor: 1, body: new Uint8Array(404) } }));
    expect(h2.analyzer.verdict).toBe('reject');

    const h3 = harness('udp');
    h3.analyzer.data(0, call({ xid: 1, prog: 200_001, vers: 3, proc: 1, cred: { flavor: 9, body: new Uint8Array(40) } }));
    expect(h3.analyzer.verdict).toBe('reject');
  });

  it('after a match, ignores a malformed datagram instead of rejecting', () => {
    const h = harness('udp');
    h.analyzer.data(0, getport(1));
    h.analyzer.data(0, http);
    h.analyzer.data(0, getport(2));
    expect(h.analyzer.verdict).toBe('match');
    expect(h.of('rpc.call').map((e) => e.xid)).toEqual([1, 2]);
    expect(h.analyzer.stats.malformed).toBe(1);
  });
});

describe('rpc analyzer: TCP record marking', () => {
  const messages = [getport(1), mnt(2), call({ xid: 3, prog: NFS, vers: 3, proc: 1, args: xdr().opaque(handle(32, 1)).bytes() })];
  const stream = concat(...messages.map((m) => record(m)));

  it('lets go of a flow that is not RPC without counting it malformed (an echo service, a byte per segment)', () => {
    const h = harness('tcp', { serverPort: 7000 });
    // A first segment of one byte cannot be ruled out at a glance; the next bytes rule it out.
    for (const byte of Buffer.from('abcdefghijkl')) {
      h.analyzer.data(0, Uint8Array.of(byte));
      h.analyzer.data(1, Uint8Array.of(byte));
    }
    expect(h.analyzer.verdict).toBe('reject');
    expect(h.analyzer.stats.malformed).toBe(0);
  });

  it('counts a malformed record once the flow is known to be RPC', () => {
    const h = harness('tcp', { serverPort: 2049 });
    h.analyzer.data(0, record(getport(1)));
    h.analyzer.data(0, record(Buffer.from('not an rpc message at all')));
    h.analyzer.data(0, record(getport(2)));
    expect(h.analyzer.verdict).toBe('match');
    expect(h.analyzer.stats.malformed).toBe(1);
    expect(h.of('rpc.call').map((e) => e.xid)).toEqual([1, 2]);
  });

  function wholeStreamEvents() {
    const h = harness('tcp');
    h.analyzer.data(0, stream);
    return h.events;
  }

  it('decodes several records delivered in one piece', () => {
    const events = wholeStreamEvents();
    expect(events.filter((e) => e.type === 'rpc.call').map((e) => (e as { xid: number }).xid)).toEqual([1, 2, 3]);
    expect(events.map((e) => e.type)).toEqual(['rpc.call', 'portmap.call', 'rpc.call', 'mount.call', 'rpc.call', 'nfs.call']);
  });

  it('decodes the same records delivered one byte at a time', () => {
    const h = harness('tcp');
    for (let i = 0; i < stream.length; i++) {
      h.analyzer.data(0, stream.subarray(i, i + 1));
      expect(h.analyzer.verdict).not.toBe('reject');
    }
    expect(h.events).toEqual(wholeStreamEvents());
    expect(h.analyzer.bufferedBytes).toBe(0);
  });

  it('reassembles a record sent as several fragments, header split across them', () => {
    const msg = mnt(9, '/pm');
    const h = harness('tcp');
    h.analyzer.data(0, record(msg, [21, 3, 10]));
    expect(h.of('mount.call')).toEqual([
      { type: 'mount.call', proto: 'mount', dir: 0, xid: 9, version: 3, procedure: 'MNT', path: '/pm' },
    ]);
  });

  it('keeps the record size it reassembles bounded when a mark announces 2 GB', () => {
    const cap = 1024 * 1024;
    const h = harness('tcp');
    const header = mnt(4, '/pm');
    h.analyzer.data(0, Uint8Array.of(0xff, 0xff, 0xff, 0xff));
    h.analyzer.data(0, header);
    const chunk = new Uint8Array(64 * 1024);
    let peak = 0;
    for (let i = 0; i < 48; i++) {
      h.analyzer.data(0, chunk);
      peak = Math.max(peak, h.analyzer.bufferedBytes);
    }
    expect(peak).toBeLessThanOrEqual(cap);
    // Once the cap is reached the record's head is decoded and its bytes let go.
    expect(h.analyzer.bufferedBytes).toBe(0);
    expect(h.analyzer.stats.oversizedRecords).toBe(1);
    expect(h.analyzer.stats.skippedBytes).toBe(header.length + 48 * chunk.length - cap);
    expect(h.of('mount.call').map((e) => e.path)).toEqual(['/pm']);
    expect(h.analyzer.verdict).toBe('match');
  });

  it('decodes the record after an oversized one', () => {
    const h = harness('tcp', { options: { maxRecordBytes: 4096 } });
    const big = concat(mnt(1, '/big'), new Uint8Array(10_000));
    h.analyzer.data(0, concat(record(big), record(mnt(2, '/after'))));
    expect(h.of('mount.call').map((e) => e.path)).toEqual(['/big', '/after']);
    expect(h.analyzer.stats.oversizedRecords).toBe(1);
  });

  it('follows a flow that opens with a reply over the record cap, its call unseen (one-way mirror)', () => {
    const h = harness('tcp', { serverPort: 2049, options: { maxRecordBytes: 4096 } });
    const s = concat(record(concat(reply(1), new Uint8Array(10_000).fill(0x41))), record(reply(2)));
    for (let i = 0; i < s.length; i += 1448) h.analyzer.data(1, s.subarray(i, i + 1448));
    expect(h.analyzer.verdict).not.toBe('reject');
    expect(h.of('rpc.reply').map((e) => e.xid)).toEqual([1, 2]);
  });

  it('keeps probing when a segment of the first record is lost after its header began', () => {
    const h = harness('tcp', { serverPort: 2049 });
    const first = record(call({ xid: 1, prog: NFS, vers: 3, proc: 7, args: new Uint8Array(4000) }));
    h.analyzer.data(0, first.subarray(0, 12)); // the record mark and 8 header bytes
    h.analyzer.gap(0, 1448);
    h.analyzer.data(0, first.subarray(12 + 1448));
    h.analyzer.data(0, record(mnt(2)));
    expect(h.analyzer.verdict).toBe('match');
    expect(h.of('mount.call').map((e) => e.xid)).toEqual([2]);
  });

  it('skips a gap inside a fragment by count and decodes what arrived', () => {
    const h = harness('tcp');
    const write = call({
      xid: 20, prog: NFS, vers: 3, proc: 7,
      args: xdr().opaque(handle(32, 2)).u64(0).u32(8192).u32(2).opaque(new Uint8Array(8192)).bytes(),
    });
    const s = concat(record(write), record(mnt(21)));
    h.analyzer.data(0, s.subarray(0, 300));
    h.analyzer.gap(0, 4000);
    h.analyzer.data(0, s.subarray(4300));
    expect(h.of('nfs.call').map((e) => e.procedure)).toEqual(['WRITE']);
    expect(h.of('mount.call').map((e) => e.xid)).toEqual([21]);
    expect(h.analyzer.stats.resyncs).toBe(0);
  });

  it('resynchronises on the next record after a gap swallows a record mark', () => {
    const h = harness('tcp');
    const recs = [record(getport(1)), record(mnt(2, '/lost')), record(mnt(3, '/also-lost')), record(mnt(4, '/found'))];
    const s = concat(...recs);
    const lostFrom = recs[0].length + 10; // inside record 2
    const lostTo = recs[0].length + recs[1].length + 2; // inside record 3's mark
    h.analyzer.data(0, s.subarray(0, lostFrom));
    h.analyzer.gap(0, lostTo - lostFrom);
    h.analyzer.data(0, s.subarray(lostTo));
    expect(h.of('rpc.call').map((e) => e.xid)).toEqual([1, 4]);
    expect(h.of('mount.call').map((e) => e.path)).toEqual(['/found']);
    expect(h.analyzer.stats.resyncs).toBe(1);
    expect(h.analyzer.bufferedBytes).toBe(0);
  });

  it('hunts past bytes that cannot be a record after a gap, and never stalls', () => {
    const h = harness('tcp');
    h.analyzer.data(0, record(getport(1)));
    h.analyzer.gap(0, 100);
    h.analyzer.data(0, Uint8Array.from({ length: 5000 }, (_, i) => (i * 13) & 0xff));
    h.analyzer.data(0, record(mnt(2, '/pm')));
    expect(h.of('mount.call').map((e) => e.path)).toEqual(['/pm']);
    expect(h.analyzer.bufferedBytes).toBe(0);
  });

  it('finds its way back when a record header turns out impossible mid-stream', () => {
    const h = harness('tcp');
    const bogus = concat(Uint8Array.of(0x80, 0, 0, 40), ascii('this is not an RPC message, not at all!!'));
    h.analyzer.data(0, concat(record(getport(1)), bogus, record(mnt(2, '/pm'))));
    expect(h.of('rpc.call').map((e) => e.xid)).toEqual([1, 2]);
    expect(h.analyzer.verdict).toBe('match');
  });

  it('rejects while probing when a gap leaves nothing recognisable', () => {
    const h = harness('tcp');
    h.analyzer.gap(0, 1000);
    h.analyzer.data(0, new Uint8Array(70_000).fill(0x41));
    expect(h.analyzer.verdict).toBe('reject');
  });

  it('decodes a half-received record at the end of the flow', () => {
    const h = harness('tcp');
    const s = record(concat(mnt(5, '/pm'), new Uint8Array(1000)));
    h.analyzer.data(0, s.subarray(0, 200));
    expect(h.of('mount.call')).toEqual([]);
    h.analyzer.end();
    expect(h.of('mount.call').map((e) => e.path)).toEqual(['/pm']);
  });

  it('decodes replies on the other direction and matches them', () => {
    const h = harness('tcp');
    feedSplit(h, 0, record(getport(77)), [5, 3]);
    feedSplit(h, 1, record(reply(77, u32(4002))), [2, 7, 1]);
    expect(h.of('portmap.mapping').map((e) => e.port)).toEqual([4002]);
  });
});

describe('rpc analyzer: truncated input', () => {
  const samples = [
    call({ xid: 1, prog: PORTMAP, vers: 2, proc: 3, cred: authUnix({ stamp: 1, machine: 'm', uid: 1, gid: 2, gids: [3] }), args: pmapMapping(MOUNT, 3, 6) }),
    reply(1, u32(635)),
    deniedAuth(2, 1),
    mnt(3),
    call({ xid: 4, prog: NFS, vers: 4, proc: 1, args: xdr().opaque([]).u32(0).u32(3).u32(24).u32(15).string('pm').u32(10).bytes() }),
  ];

  it('never throws on any prefix of a message, as a datagram or a final TCP record', () => {
    for (const msg of samples) {
      for (let n = 0; n <= msg.length; n++) {
        const udp = harness('udp');
        expect(() => udp.analyzer.data(0, msg.subarray(0, n))).not.toThrow();
        const tcp = harness('tcp');
        expect(() => {
          tcp.analyzer.data(0, record(msg).subarray(0, n + 4));
          tcp.analyzer.end();
        }).not.toThrow();
      }
    }
  });

  it('reports a call cut inside its arguments without the arguments', () => {
    const h = harness('udp');
    const full = mnt(6, '/pm');
    h.analyzer.data(0, full.subarray(0, full.length - 6));
    expect(h.of('rpc.call').map((e) => e.xid)).toEqual([6]);
    expect(h.of('mount.call')).toEqual([
      { type: 'mount.call', proto: 'mount', dir: 0, xid: 6, version: 3, procedure: 'MNT' },
    ]);
  });

  it('does not report a call whose header is cut short', () => {
    const h = harness('udp');
    h.analyzer.data(0, call({ xid: 1, prog: NFS, vers: 3, proc: 0, cred: AUTH_NONE }).subarray(0, 36));
    expect(h.events).toEqual([]);
  });
});
