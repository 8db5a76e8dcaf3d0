import { describe, expect, it } from 'vitest';
import { parseUniversalAddress } from '../../src/analyzers/rpc/portmap.js';
import { nfs4OperationName } from '../../src/analyzers/rpc/nfs.js';
import {
  MOUNT, NFS, PORTMAP, call, handle, harness, hex, pmapMapping, record, reply, rpcbArgs, str, u32, xdr,
} from './rpc-fixtures.js';

const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;

describe('portmap v2', () => {
  it('GETPORT: reports the question, then the mapping, and expects the port', () => {
    const h = harness('udp');
    h.analyzer.data(0, call({ xid: 10, prog: PORTMAP, vers: 2, proc: 3, args: pmapMapping(MOUNT, 1, IPPROTO_UDP) }));
    h.analyzer.data(1, reply(10, u32(635)));
    expect(h.of('portmap.call')).toEqual([
      {
        type: 'portmap.call', proto: 'portmap', dir: 0, xid: 10, version: 2, procedure: 'GETPORT',
        program: MOUNT, programVersion: 1, transport: 'udp',
      },
    ]);
    expect(h.of('portmap.mapping')).toEqual([
      { type: 'portmap.mapping', proto: 'portmap', dir: 1, program: MOUNT, version: 1, transport: 'udp', port: 635, source: 'getport' },
    ]);
    expect(h.expectations).toEqual([{ transport: 'udp', port: 635, program: MOUNT, version: 1 }]);
  });

  it('GETPORT over TCP for a TCP service', () => {
    const h = harness('udp');
    h.analyzer.data(0, call({ xid: 11, prog: PORTMAP, vers: 2, proc: 3, args: pmapMapping(NFS, 3, IPPROTO_TCP) }));
    h.analyzer.data(1, reply(11, u32(2049)));
    expect(h.expectations).toEqual([{ transport: 'tcp', port: 2049, program: NFS, version: 3 }]);
  });

  it('GETPORT answered 0 (not registered) maps nothing', () => {
    const h = harness('udp');
    h.analyzer.data(0, call({ xid: 12, prog: PORTMAP, vers: 2, proc: 3, args: pmapMapping(MOUNT, 3, IPPROTO_UDP) }));
    h.analyzer.data(1, reply(12, u32(0)));
    expect(h.of('portmap.mapping')).toEqual([]);
    expect(h.expectations).toEqual([]);
    expect(h.of('rpc.reply')[0].status).toBe('success');
  });

  it('DUMP: each listed mapping is reported, none expected', () => {
    const h = harness('tcp');
    const list = xdr()
      .bool(true).u32(PORTMAP).u32(2).u32(IPPROTO_TCP).u32(111)
      .bool(true).u32(MOUNT).u32(3).u32(IPPROTO_UDP).u32(20048)
      .bool(true).u32(NFS).u32(3).u32(IPPROTO_TCP).u32(2049)
      .bool(false)
      .bytes();
    h.analyzer.data(0, record(call({ xid: 13, prog: PORTMAP, vers: 2, proc: 4 })));
    h.analyzer.data(1, record(reply(13, list)));
    expect(h.of('portmap.call').map((e) => e.procedure)).toEqual(['DUMP']);
    expect(h.of('portmap.mapping').map((e) => [e.program, e.version, e.transport, e.port, e.source])).toEqual([
      [PORTMAP, 2, 'tcp', 111, 'dump'],
      [MOUNT, 3, 'udp', 20048, 'dump'],
      [NFS, 3, 'tcp', 2049, 'dump'],
    ]);
    expect(h.expectations).toEqual([]);
  });

  it('CALLIT: the called procedure, and the port in the answer', () => {
    const h = harness('udp');
    const args = xdr().u32(MOUNT).u32(1).u32(0).opaque([]).bytes();
    h.analyzer.data(0, call({ xid: 14, prog: PORTMAP, vers: 2, proc: 5, args }));
    h.analyzer.data(1, reply(14, xdr().u32(635).opaque([]).bytes()));
    expect(h.of('portmap.call')).toEqual([
      {
        type: 'portmap.call', proto: 'portmap', dir: 0, xid: 14, version: 2, procedure: 'CALLIT',
        program: MOUNT, programVersion: 1, calledProcedure: 0,
      },
    ]);
    expect(h.of('portmap.mapping').map((e) => [e.program, e.transport, e.port, e.source])).toEqual([[MOUNT, 'udp', 635, 'callit']]);
  });

  it('names SET, UNSET and NULL', () => {
    const h = harness('udp');
    h.analyzer.data(0, call({ xid: 1, prog: PORTMAP, vers: 2, proc: 0 }));
    h.analyzer.data(0, call({ xid: 2, prog: PORTMAP, vers: 2, proc: 1, args: pmapMapping(MOUNT, 3, IPPROTO_TCP, 892) }));
    h.analyzer.data(0, call({ xid: 3, prog: PORTMAP, vers: 2, proc: 2, args: pmapMapping(MOUNT, 3, IPPROTO_TCP) }));
    expect(h.of('rpc.call').map((e) => e.procedureName)).toEqual(['NULL', 'SET', 'UNSET']);
  });
});

describe('rpcbind v3/v4', () => {
  it('GETADDR: parses the universal address into a port', () => {
    const h = harness('tcp');
    h.analyzer.data(0, record(call({ xid: 20, prog: PORTMAP, vers: 3, proc: 3, args: rpcbArgs(MOUNT, 3, 'tcp', '', 'superuser') })));
    h.analyzer.data(1, record(reply(20, str('10.0.0.5.3.235'))));
    expect(h.of('portmap.call')).toEqual([
      {
        type: 'portmap.call', proto: 'portmap', dir: 0, xid: 20, version: 3, procedure: 'GETADDR',
        program: MOUNT, programVersion: 3, transport: 'tcp', netid: 'tcp',
      },
    ]);
    expect(h.of('portmap.mapping')).toEqual([
      {
        type: 'portmap.mapping', proto: 'portmap', dir: 1, program: MOUNT, version: 3, transport: 'tcp',
        port: 1003, source: 'getaddr', address: '10.0.0.5.3.235',
      },
    ]);
    expect(h.expectations).toEqual([{ transport: 'tcp', port: 1003, program: MOUNT, version: 3 }]);
  });

  it('GETADDR v4 over udp6 with an IPv6 universal address', () => {
    const h = harness('udp');
    h.analyzer.data(0, call({ xid: 21, prog: PORTMAP, vers: 4, proc: 3, args: rpcbArgs(NFS, 3, 'udp6') }));
    h.analyzer.data(1, reply(21, str('fe80::1.8.1')));
    expect(h.expectations).toEqual([{ transport: 'udp', port: 2049, program: NFS, version: 3 }]);
  });

  it('GETADDR answered with an empty address (not registered) maps nothing', () => {
    const h = harness('udp');
    h.analyzer.data(0, call({ xid: 22, prog: PORTMAP, vers: 4, proc: 3, args: rpcbArgs(MOUNT, 1, 'udp') }));
    h.analyzer.data(1, reply(22, str('')));
    expect(h.of('portmap.mapping')).toEqual([]);
    expect(h.expectations).toEqual([]);
  });

  it('leaves the universal address out in the none evidence mode', () => {
    const h = harness('udp', { evidence: 'none' });
    h.analyzer.data(0, call({ xid: 23, prog: PORTMAP, vers: 3, proc: 3, args: rpcbArgs(MOUNT, 3, 'udp') }));
    h.analyzer.data(1, reply(23, str('10.0.0.5.2.123')));
    expect(h.of('portmap.mapping')[0].address).toBeUndefined();
    expect(h.of('portmap.mapping')[0].port).toBe(2 * 256 + 123);
  });

  it('DUMP lists rpcb entries', () => {
    const h = harness('udp');
    const entry = (prog: number, vers: number, netid: string, addr: string) =>
      xdr().bool(true).u32(prog).u32(vers).string(netid).string(addr).string('superuser').bytes();
    const list = xdr()
      .raw(entry(NFS, 4, 'tcp6', '::.8.1'))
      .raw(entry(MOUNT, 3, 'udp', '0.0.0.0.78.80'))
      .raw(entry(100024, 1, 'local', '/run/rpcbind.sock'))
      .bool(false)
      .bytes();
    h.analyzer.data(0, call({ xid: 24, prog: PORTMAP, vers: 4, proc: 4 }));
    h.analyzer.data(1, reply(24, list));
    expect(h.of('portmap.mapping').map((e) => [e.program, e.transport, e.port])).toEqual([
      [NFS, 'tcp', 2049],
      [MOUNT, 'udp', 20048],
    ]);
    expect(h.expectations).toEqual([]);
  });

  it('parses universal addresses', () => {
    expect(parseUniversalAddress('10.0.0.5.3.235')).toEqual({ host: '10.0.0.5', port: 1003 });
    expect(parseUniversalAddress('202.114.4.119.0.111')).toEqual({ host: '202.114.4.119', port: 111 });
    expect(parseUniversalAddress('::1.8.1')).toEqual({ host: '::1', port: 2049 });
    for (const bad of ['', '10.0.0.5', '3.235', '10.0.0.5.256.1', '10.0.0.5.3.x', 'host.example.3.235', '10.0.0.5..1']) {
      expect(parseUniversalAddress(bad), bad).toBeNull();
    }
  });
});

describe('MOUNT', () => {
  it('v1 MNT: path in the call, status and 32-byte handle in the reply', () => {
    const h = harness('udp', { serverPort: 635 });
    const fh = handle(32, 1);
    h.analyzer.data(0, call({ xid: 30, prog: MOUNT, vers: 1, proc: 1, args: str('/pm') }));
    h.analyzer.data(1, reply(30, xdr().u32(0).fixed(fh).bytes()));
    expect(h.of('mount.call')).toEqual([
      { type: 'mount.call', proto: 'mount', dir: 0, xid: 30, version: 1, procedure: 'MNT', path: '/pm' },
    ]);
    expect(h.of('mount.reply')).toEqual([
      { type: 'mount.reply', proto: 'mount', dir: 1, xid: 30, version: 1, procedure: 'MNT', status: 0, fileHandle: hex(fh) },
    ]);
  });

  it('v3 MNT: variable handle and the accepted auth flavors', () => {
    const h = harness('udp');
    const fh = handle(28, 2);
    h.analyzer.data(0, call({ xid: 31, prog: MOUNT, vers: 3, proc: 1, args: str('/srv/export') }));
    h.analyzer.data(1, reply(31, xdr().u32(0).opaque(fh).u32(2).u32(1).u32(390003).bytes()));
    expect(h.of('mount.reply')).toEqual([
      {
        type: 'mount.reply', proto: 'mount', dir: 1, xid: 31, version: 3, procedure: 'MNT', status: 0,
        fileHandle: hex(fh), authFlavors: [1, 390003],
      },
    ]);
  });

  it('MNT refused: the status, no handle', () => {
    const h = harness('udp');
    h.analyzer.data(0, call({ xid: 32, prog: MOUNT, vers: 3, proc: 1, args: str('/secret') }));
    h.analyzer.data(1, reply(32, u32(13)));
    expect(h.of('mount.reply')).toEqual([
      { type: 'mount.reply', proto: 'mount', dir: 1, xid: 32, version: 3, procedure: 'MNT', status: 13 },
    ]);
  });

  it('leaves the handle out in the none evidence mode', () => {
    const h = harness('udp', { evidence: 'none' });
    h.analyzer.data(0, call({ xid: 33, prog: MOUNT, vers: 1, proc: 1, args: str('/pm') }));
    h.analyzer.data(1, reply(33, xdr().u32(0).fixed(handle(32, 3)).bytes()));
    expect(h.of('mount.reply')[0]).toEqual({
      type: 'mount.reply', proto: 'mount', dir: 1, xid: 33, version: 1, procedure: 'MNT', status: 0,
    });
  });

  it('UMNT, UMNTALL, DUMP, NULL', () => {
    const h = harness('udp');
    h.analyzer.data(0, call({ xid: 34, prog: MOUNT, vers: 3, proc: 3, args: str('/pm') }));
    h.analyzer.data(1, reply(34));
    h.analyzer.data(0, call({ xid: 35, prog: MOUNT, vers: 3, proc: 4 }));
    h.analyzer.data(1, reply(35));
    h.analyzer.data(0, call({ xid: 36, prog: MOUNT, vers: 3, proc: 2 }));
    h.analyzer.data(1, reply(36, xdr().bool(true).string('10.1.2.3').string('/pm').bool(false).bytes()));
    h.analyzer.data(0, call({ xid: 37, prog: MOUNT, vers: 1, proc: 0 }));
    h.analyzer.data(1, reply(37));
    expect(h.of('mount.call').map((e) => [e.procedure, e.path])).toEqual([
      ['UMNT', '/pm'], ['UMNTALL', undefined], ['DUMP', undefined], ['NULL', undefined],
    ]);
    expect(h.of('mount.reply').map((e) => [e.xid, e.procedure, e.status])).toEqual([
      [34, 'UMNT', 0], [35, 'UMNTALL', 0], [36, 'DUMP', 0], [37, 'NULL', 0],
    ]);
  });

  it('EXPORT: the exported directories', () => {
    const h = harness('udp');
    const exports = xdr()
      .bool(true).string('/pm').bool(true).string('*').bool(false)
      .bool(true).string('/data').bool(true).string('10.0.0.0/8').bool(true).string('@ward').bool(false)
      .bool(false)
      .bytes();
    h.analyzer.data(0, call({ xid: 38, prog: MOUNT, vers: 3, proc: 5 }));
    h.analyzer.data(1, reply(38, exports));
    expect(h.of('mount.call').map((e) => e.procedure)).toEqual(['EXPORT']);
    expect(h.of('mount.reply')[0].exports).toEqual(['/pm', '/data']);
  });
});

describe('NFS v2 and v3', () => {
  const fh2 = handle(32, 4);
  const fh3 = handle(36, 5);

  it('names v2 procedures; a successful reply opens the session once', () => {
    const h = harness('udp', { serverPort: 2049 });
    h.analyzer.data(0, call({ xid: 40, prog: NFS, vers: 2, proc: 1, args: xdr().fixed(fh2).bytes() }));
    h.analyzer.data(0, call({ xid: 41, prog: NFS, vers: 2, proc: 4, args: xdr().fixed(fh2).string('patients.db').bytes() }));
    h.analyzer.data(0, call({ xid: 42, prog: NFS, vers: 2, proc: 6, args: xdr().fixed(fh2).u32(0).u32(8192).u32(8192).bytes() }));
    expect(h.of('nfs.call').map((e) => [e.xid, e.version, e.procedure])).toEqual([
      [40, 2, 'GETATTR'], [41, 2, 'LOOKUP'], [42, 2, 'READ'],
    ]);
    h.analyzer.data(1, reply(40, xdr().u32(0).raw(new Uint8Array(68)).bytes()));
    h.analyzer.data(1, reply(41, xdr().u32(0).fixed(handle(32, 6)).raw(new Uint8Array(68)).bytes()));
    expect(h.of('nfs.session')).toEqual([{ type: 'nfs.session', proto: 'nfs', dir: 1, version: 2 }]);
  });

  it('names v3 procedures, READ and WRITE data untouched', () => {
    const h = harness('udp');
    const procs = [[0, 'NULL'], [1, 'GETATTR'], [2, 'SETATTR'], [3, 'LOOKUP'], [4, 'ACCESS'], [6, 'READ'], [7, 'WRITE'], [8, 'CREATE'], [19, 'FSINFO'], [20, 'PATHCONF'], [21, 'COMMIT']] as const;
    procs.forEach(([proc], i) => {
      const args = proc === 7
        ? xdr().opaque(fh3).u64(0).u32(4).u32(2).opaque([1, 2, 3, 4]).bytes()
        : xdr().opaque(fh3).bytes();
      h.analyzer.data(0, call({ xid: 50 + i, prog: NFS, vers: 3, proc, args }));
    });
    expect(h.of('nfs.call').map((e) => e.procedure)).toEqual(procs.map(([, name]) => name));
  });

  it('a NULL ping or an error status does not open the session', () => {
    const h = harness('udp');
    h.analyzer.data(0, call({ xid: 60, prog: NFS, vers: 3, proc: 0 }));
    h.analyzer.data(1, reply(60));
    h.analyzer.data(0, call({ xid: 61, prog: NFS, vers: 3, proc: 1, args: xdr().opaque(fh3).bytes() }));
    h.analyzer.data(1, reply(61, u32(70))); // NFS3ERR_STALE
    expect(h.of('nfs.session')).toEqual([]);
    h.analyzer.data(0, call({ xid: 62, prog: NFS, vers: 3, proc: 19, args: xdr().opaque(fh3).bytes() }));
    h.analyzer.data(1, reply(62, xdr().u32(0).u32(0).bytes()));
    expect(h.of('nfs.session')).toEqual([{ type: 'nfs.session', proto: 'nfs', dir: 1, version: 3 }]);
  });

  const getattr3 = (xid: number) => call({ xid, prog: NFS, vers: 3, proc: 1, args: xdr().opaque(fh3).bytes() });

  it('with only the calls visible, infers the session at flow end from three distinct calls', () => {
    const h = harness('udp');
    h.analyzer.data(0, call({ xid: 70, prog: NFS, vers: 3, proc: 0 })); // NULL: proves nothing
    h.analyzer.data(0, getattr3(71));
    h.analyzer.data(0, getattr3(71)); // retransmission: same call
    h.analyzer.data(0, getattr3(72));
    h.analyzer.data(0, getattr3(73));
    expect(h.of('nfs.session')).toEqual([]);
    h.analyzer.end();
    expect(h.of('nfs.session')).toEqual([{ type: 'nfs.session', proto: 'nfs', dir: 0, version: 3, inferredFromCalls: true }]);
  });

  it('with only the calls visible, infers the session midway after eight distinct calls', () => {
    const h = harness('tcp');
    for (let xid = 1; xid <= 7; xid++) h.analyzer.data(0, record(getattr3(xid)));
    expect(h.of('nfs.session')).toEqual([]);
    h.analyzer.data(0, record(getattr3(8)));
    expect(h.of('nfs.session')).toEqual([{ type: 'nfs.session', proto: 'nfs', dir: 0, version: 3, inferredFromCalls: true }]);
    h.analyzer.end();
    expect(h.of('nfs.session')).toHaveLength(1);
  });

  it('infers nothing from retransmissions of one unanswered call', () => {
    const h = harness('udp');
    for (let i = 0; i < 10; i++) h.analyzer.data(0, getattr3(90));
    h.analyzer.end();
    expect(h.of('nfs.session')).toEqual([]);
  });

  it('does not infer a session when the server is heard but refuses', () => {
    const h = harness('udp');
    for (let xid = 80; xid < 84; xid++) h.analyzer.data(0, getattr3(xid)); // pipelined
    for (let xid = 80; xid < 84; xid++) h.analyzer.data(1, reply(xid, u32(70)));
    for (let xid = 84; xid < 94; xid++) {
      h.analyzer.data(0, getattr3(xid));
      h.analyzer.data(1, reply(xid, u32(70)));
    }
    h.analyzer.end();
    expect(h.of('nfs.session')).toEqual([]);
  });
});

describe('NFS v4', () => {
  const compound = (xid: number, minor: number, ops: Uint8Array[], tag = '') => {
    const w = xdr().string(tag).u32(minor).u32(ops.length);
    for (const op of ops) w.raw(op);
    return call({ xid, prog: NFS, vers: 4, proc: 1, args: w.bytes() });
  };
  const op = (n: number) => xdr().u32(n);
  const stateid = new Uint8Array(16).fill(7);
  const compoundOk = (xid: number) => reply(xid, xdr().u32(0).string('').u32(0).bytes());

  it('COMPOUND PUTROOTFH + LOOKUP + GETFH: operation names; the answer opens the session', () => {
    const h = harness('tcp', { serverPort: 2049 });
    h.analyzer.data(0, record(compound(90, 0, [op(24).bytes(), op(15).string('pm').bytes(), op(10).bytes()])));
    expect(h.of('nfs.call')).toEqual([
      {
        type: 'nfs.call', proto: 'nfs', dir: 0, xid: 90, version: 4, procedure: 'COMPOUND', minorVersion: 0,
        operations: ['PUTROOTFH', 'LOOKUP', 'GETFH'],
      },
    ]);
    expect(h.of('rpc.call')[0].procedureName).toBe('COMPOUND');
    h.analyzer.data(1, record(compoundOk(90)));
    expect(h.of('nfs.session')).toEqual([{ type: 'nfs.session', proto: 'nfs', dir: 1, version: 4, minorVersion: 0 }]);
  });

  it('walks over operation arguments, WRITE data included', () => {
    const h = harness('udp');
    const ops = [
      op(53).fixed(new Uint8Array(16)).u32(1).u32(0).u32(0).bool(false).bytes(), // SEQUENCE
      op(22).opaque(handle(40, 8)).bytes(), // PUTFH
      op(38).raw(stateid).u64(0).u32(2).opaque(new Uint8Array(3000)).bytes(), // WRITE
      op(18).u32(1).u32(2).u32(0).u64(77).opaque([1, 2, 3]).u32(1).u32(0).u32(1).u32(16).u32(0).u32(0).string('new.txt').bytes(), // OPEN
      op(9).u32(2).u32(0x0010011a).u32(0x00b0a23a).bytes(), // GETATTR
      op(25).raw(stateid).u64(4096).u32(4096).bytes(), // READ
      op(12).u32(2).bool(false).u64(0).u64(100).bool(true).u32(1).raw(stateid).u32(1).u64(77).opaque([9]).bytes(), // LOCK
      op(29).string('a').string('b').bytes(), // RENAME
      op(34).raw(stateid).u32(1).u32(0x10).opaque(new Uint8Array(8)).bytes(), // SETATTR
      op(6).u32(5).string('target').string('link').u32(0).opaque([]).bytes(), // CREATE symlink
    ];
    h.analyzer.data(0, compound(91, 1, ops, 'tag'));
    expect(h.of('nfs.call')[0].operations).toEqual([
      'SEQUENCE', 'PUTFH', 'WRITE', 'OPEN', 'GETATTR', 'READ', 'LOCK', 'RENAME', 'SETATTR', 'CREATE',
    ]);
  });

  it('NFSv4.1: EXCHANGE_ID and CREATE_SESSION arguments, session on success', () => {
    const h = harness('tcp');
    const exchangeId = op(42)
      .fixed(new Uint8Array(8)).string('Linux NFSv4.1 monitor').u32(0x101)
      .u32(0) // SP4_NONE
      .u32(1).string('kernel.org').string('Linux 5.10').u64(0).u32(0) // impl id
      .bytes();
    const channel = xdr().u32(0).u32(1049620).u32(1049480).u32(3428).u32(8).u32(64).u32(0).bytes();
    const createSession = op(43)
      .u64(0x1234).u32(1).u32(3).raw(channel).raw(channel).u32(0x40000000)
      .u32(1).u32(1).u32(0).string('monitor').u32(0).u32(0).u32(0) // AUTH_SYS callback credentials
      .bytes();
    h.analyzer.data(0, record(compound(92, 1, [exchangeId, op(53).fixed(new Uint8Array(16)).u32(1).u32(0).u32(0).bool(false).bytes()])));
    h.analyzer.data(0, record(compound(93, 1, [createSession, op(58).bool(false).bytes()])));
    expect(h.of('nfs.call').map((e) => e.operations)).toEqual([
      ['EXCHANGE_ID', 'SEQUENCE'],
      ['CREATE_SESSION', 'RECLAIM_COMPLETE'],
    ]);
    h.analyzer.data(1, record(compoundOk(92)));
    expect(h.of('nfs.session')).toEqual([{ type: 'nfs.session', proto: 'nfs', dir: 1, version: 4, minorVersion: 1 }]);
  });

  it('a COMPOUND without a session-opening operation, or one that fails, opens no session', () => {
    const h = harness('udp');
    h.analyzer.data(0, compound(94, 0, [op(35).fixed(new Uint8Array(8)).string('id').u32(0x40000000).string('tcp').string('10.0.0.9.3.1').u32(1).bytes()]));
    h.analyzer.data(1, compoundOk(94));
    h.analyzer.data(0, compound(95, 0, [op(24).bytes(), op(15).string('nonexistent').bytes()]));
    h.analyzer.data(1, reply(95, xdr().u32(2).string('').u32(0).bytes())); // NFS4ERR_NOENT
    expect(h.of('nfs.call').map((e) => e.operations)).toEqual([['SETCLIENTID'], ['PUTROOTFH', 'LOOKUP']]);
    expect(h.of('nfs.session')).toEqual([]);
  });

  it('stops listing at an operation it cannot walk', () => {
    const h = harness('udp');
    h.analyzer.data(0, compound(96, 0, [op(24).bytes(), op(9999).u32(1).bytes(), op(10).bytes()]));
    expect(h.of('nfs.call')[0].operations).toEqual(['PUTROOTFH', 'OP_9999']);
  });

  it('names operations by their RFC numbers', () => {
    expect([3, 9, 10, 15, 22, 24, 25, 38, 39, 42, 43, 53, 58, 71, 75, 10044].map(nfs4OperationName)).toEqual([
      'ACCESS', 'GETATTR', 'GETFH', 'LOOKUP', 'PUTFH', 'PUTROOTFH', 'READ', 'WRITE', 'RELEASE_LOCKOWNER',
      'EXCHANGE_ID', 'CREATE_SESSION', 'SEQUENCE', 'RECLAIM_COMPLETE', 'CLONE', 'REMOVEXATTR', 'ILLEGAL',
    ]);
    expect(nfs4OperationName(2)).toBe('OP_2');
    expect(nfs4OperationName(76)).toBe('OP_76');
  });
});
