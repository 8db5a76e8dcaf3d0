/**
 * The CMS8000 backdoor's mount, `mount -o nolock -t nfs 202.114.4.119:/pm /mnt` from busybox, as
 * the RPC analyzer sees it on three flows: portmap GETPORT to 111 for mountd and nfsd, MNT "/pm" to
 * the port portmap returned, then NFS to 2049.
 */
import { describe, expect, it } from 'vitest';
import type { Direction } from '../../src/analyzers/analyzer.js';
import {
  MOUNT, NFS, PORTMAP, authUnix, call, handle, harness, hex, pmapMapping, record, reply, str, u32, xdr,
  type Harness,
} from './rpc-fixtures.js';

const IPPROTO_UDP = 17;
const IPPROTO_TCP = 6;
const MOUNTD_PORT = 635;
const cred = authUnix({ stamp: 0x0001e240, machine: 'CMS8000', uid: 0, gid: 0, gids: [0] });
const rootHandle = handle(32, 0x3e);
const fileHandle = handle(32, 0x46);

interface Step {
  readonly dir: Direction;
  readonly msg: Uint8Array;
}

function portmapSteps(mountVersion: number, nfsVersion: number, prot: number): Step[] {
  return [
    { dir: 0, msg: call({ xid: 0x6c1a0001, prog: PORTMAP, vers: 2, proc: 3, cred, args: pmapMapping(MOUNT, mountVersion, prot) }) },
    { dir: 1, msg: reply(0x6c1a0001, u32(MOUNTD_PORT)) },
    { dir: 0, msg: call({ xid: 0x6c1a0002, prog: PORTMAP, vers: 2, proc: 3, cred, args: pmapMapping(NFS, nfsVersion, prot) }) },
    { dir: 1, msg: reply(0x6c1a0002, u32(2049)) },
  ];
}

function mountSteps(version: 1 | 3): Step[] {
  const granted = version === 3
    ? xdr().u32(0).opaque(rootHandle).u32(1).u32(1).bytes()
    : xdr().u32(0).fixed(rootHandle).bytes();
  return [
    { dir: 0, msg: call({ xid: 0x6c1a0003, prog: MOUNT, vers: version, proc: 1, cred, args: str('/pm') }) },
    { dir: 1, msg: reply(0x6c1a0003, granted) },
  ];
}

function nfsSteps(version: 2 | 3): Step[] {
  const fh = (h: Uint8Array) => (version === 2 ? xdr().fixed(h) : xdr().opaque(h));
  const proc = version === 2 ? { getattr: 1, lookup: 4, read: 6 } : { getattr: 1, lookup: 3, read: 6 };
  const attrs = new Uint8Array(version === 2 ? 68 : 84);
  const readArgs = version === 2 ? fh(fileHandle).u32(0).u32(8192).u32(0) : fh(fileHandle).u64(0).u32(8192);
  return [
    { dir: 0, msg: call({ xid: 0x2a000001, prog: NFS, vers: version, proc: proc.getattr, cred, args: fh(rootHandle).bytes() }) },
    { dir: 1, msg: reply(0x2a000001, xdr().u32(0).raw(attrs).bytes()) },
    { dir: 0, msg: call({ xid: 0x2a000002, prog: NFS, vers: version, proc: proc.lookup, cred, args: fh(rootHandle).string('run.sh').bytes() }) },
    { dir: 1, msg: reply(0x2a000002, xdr().u32(0).raw(fh(fileHandle).bytes()).raw(attrs).bytes()) },
    { dir: 0, msg: call({ xid: 0x2a000003, prog: NFS, vers: version, proc: proc.read, cred, args: readArgs.bytes() }) },
    { dir: 1, msg: reply(0x2a000003, xdr().u32(0).raw(attrs).u32(5).opaque(new Uint8Array(5)).bytes()) },
  ];
}

/** Plays the steps over a flow: one datagram each over UDP; over TCP records cut into small irregular pieces. */
function play(transport: 'tcp' | 'udp', serverPort: number, steps: Step[], only?: Direction): Harness {
  const h = harness(transport, { serverPort });
  let cut = 1;
  for (const { dir, msg } of steps) {
    if (only !== undefined && dir !== only) continue;
    if (transport === 'udp') {
      h.analyzer.data(dir, msg);
      continue;
    }
    const bytes = record(msg);
    for (let at = 0; at < bytes.length; at += cut, cut = (cut * 7 + 3) % 23 + 1) {
      h.analyzer.data(dir, bytes.subarray(at, at + cut));
    }
  }
  h.analyzer.end();
  return h;
}

describe.each([
  { transport: 'udp' as const, mountVersion: 1 as const, nfsVersion: 2 as const, prot: IPPROTO_UDP },
  { transport: 'udp' as const, mountVersion: 3 as const, nfsVersion: 3 as const, prot: IPPROTO_UDP },
  { transport: 'tcp' as const, mountVersion: 3 as const, nfsVersion: 3 as const, prot: IPPROTO_TCP },
])('busybox NFS mount of 202.114.4.119:/pm over $transport (MOUNT v$mountVersion, NFS v$nfsVersion)', ({ transport, mountVersion, nfsVersion, prot }) => {
  it('portmap: GETPORT for mountd and nfsd, each answer mapped and expected', () => {
    const h = play(transport, 111, portmapSteps(mountVersion, nfsVersion, prot));
    expect(h.analyzer.verdict).toBe('match');
    expect(h.of('portmap.call').map((e) => [e.procedure, e.program, e.programVersion, e.transport])).toEqual([
      ['GETPORT', MOUNT, mountVersion, transport],
      ['GETPORT', NFS, nfsVersion, transport],
    ]);
    expect(h.of('rpc.call')[0].auth).toEqual({ flavor: 'unix', stamp: 0x0001e240, machineName: 'CMS8000', uid: 0, gid: 0, gids: [0] });
    expect(h.expectations).toEqual([
      { transport, port: MOUNTD_PORT, program: MOUNT, version: mountVersion },
      { transport, port: 2049, program: NFS, version: nfsVersion },
    ]);
    expect(h.of('portmap.mapping').map((e) => e.port)).toEqual([MOUNTD_PORT, 2049]);
  });

  it('mountd, on the port portmap handed out: MNT "/pm" granted with a file handle', () => {
    const h = play(transport, MOUNTD_PORT, mountSteps(mountVersion));
    expect(h.analyzer.verdict).toBe('match');
    expect(h.of('mount.call').map((e) => [e.procedure, e.version, e.path])).toEqual([['MNT', mountVersion, '/pm']]);
    expect(h.of('mount.reply').map((e) => [e.procedure, e.status, e.fileHandle])).toEqual([['MNT', 0, hex(rootHandle)]]);
  });

  it('nfsd: GETATTR, LOOKUP, READ, and the session reported once', () => {
    const h = play(transport, 2049, nfsSteps(nfsVersion));
    expect(h.analyzer.verdict).toBe('match');
    expect(h.of('nfs.call').map((e) => [e.version, e.procedure])).toEqual([
      [nfsVersion, 'GETATTR'], [nfsVersion, 'LOOKUP'], [nfsVersion, 'READ'],
    ]);
    expect(h.of('nfs.session')).toEqual([{ type: 'nfs.session', proto: 'nfs', dir: 1, version: nfsVersion }]);
    expect(h.of('rpc.reply').every((e) => e.program === NFS && e.status === 'success')).toBe(true);
  });

  it('seen from the client side only: the mount is still recognised and the session inferred', () => {
    const pm = play(transport, 111, portmapSteps(mountVersion, nfsVersion, prot), 0);
    expect(pm.of('portmap.call').map((e) => e.program)).toEqual([MOUNT, NFS]);
    expect(pm.expectations).toEqual([]);
    const mnt = play(transport, MOUNTD_PORT, mountSteps(mountVersion), 0);
    expect(mnt.of('mount.call').map((e) => e.path)).toEqual(['/pm']);
    const nfs = play(transport, 2049, nfsSteps(nfsVersion), 0);
    expect(nfs.of('nfs.session')).toEqual([{ type: 'nfs.session', proto: 'nfs', dir: 0, version: nfsVersion, inferredFromCalls: true }]);
  });
});
