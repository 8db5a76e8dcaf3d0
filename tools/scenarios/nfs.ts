/**
 * ONC RPC: busybox `mount -o nolock -t nfs` over UDP (portmap GETPORT, MOUNT MNT, NFS v3) to
 * the backdoor and to the hospital's filer, GETPORT and MNT over TCP to an outside host, and
 * NFSv4 COMPOUNDs to an outside host; then MNT calls a strict decoder would miss: credentials
 * over RFC 5531's 400 bytes (over UDP in IP fragments, and over TCP), a MOUNT flow the capture
 * picks up mid-stream, and one whose mirror lost a segment that held record marks.
 */
import {
  concat,
  fragmentIPv4,
  ipv4,
  LINKTYPE,
  MOUNT_MNT,
  mountPathArgs,
  mountV3MntResult,
  NFS3_PROC,
  nfs3Args,
  nfs3Result,
  NFS4_ATTR,
  nfs4Compound,
  nfs4CompoundResult,
  nfs4Op,
  nfs4OpResult,
  NFS4_PROC_COMPOUND,
  pcapFile,
  PORTMAP_GETPORT,
  portmapGetportArgs,
  portmapGetportResult,
  Prng,
  RPC_PROGRAM,
  rpcCall,
  rpcRecord,
  rpcReply,
  udp,
  xdr,
  type Nfs3Attributes,
  type RpcAuthUnix,
} from '../craft/index.js';
import { clockAt, frame, RTT, SITE, TcpSession, Timeline, UdpExchange } from './network.js';
import type { DetectionScenario } from './scenario.js';

const MOUNTD_PORT = 20048;
const MOUNT_EXPORT = 5;
const NFS_PORT = 2049;
/** 2025-01-30 10:00:00 UTC, the AUTH_UNIX stamp the monitor's clock gives. */
const STAMP = 1738231200;

function rootCredentials(machineName: string): RpcAuthUnix {
  return { stamp: STAMP, machineName, uid: 0, gid: 0, gids: [0] };
}

/** A Linux knfsd-style file handle: fixed head, then bytes particular to the export and file. */
function fileHandle(seed: number): Buffer {
  return concat(Buffer.from([0x01, 0x00, 0x07, 0x01]), new Prng(seed).bytes(24));
}

interface BusyboxMount {
  client: string;
  server: string;
  rtt: number;
  export: string;
  fileName: string;
  fileContent: string;
  start: [number, number];
  seed: number;
}

/**
 * busybox mount: GETPORT for mountd v3/UDP, MNT of the export from a reserved port, GETPORT for
 * NFS v3/UDP, then the kernel's NFS v3 calls (NULL, GETATTR of the root, LOOKUP, READ).
 */
function busyboxMount(m: BusyboxMount): Buffer {
  const timeline = new Timeline(clockAt(...m.start));
  const auth = rootCredentials('cms8000');
  const rootFh = fileHandle(m.seed);
  const fileFh = fileHandle(m.seed + 1);
  let xid = (0x4e1f0000 + m.seed * 0x100) >>> 0;
  const server = (port: number) => ({ ip: m.server, port });
  const exchange = (clientPort: number, serverPort: number, ipIds: number) =>
    new UdpExchange(timeline, { client: { ip: m.client, port: clientPort }, server: server(serverPort), rtt: m.rtt, clientIpId: ipIds, serverIpId: ipIds ^ 0x5a5a });
  const call = (e: UdpExchange, program: number, version: number, procedure: number, args: Buffer, result: Buffer, useAuth = true, pause = 600) => {
    const id = xid++;
    e.send('client', rpcCall({ xid: id, program, version, procedure, auth: useAuth ? auth : undefined }, args), pause);
    e.send('server', rpcReply({ xid: id }, result));
  };

  const pmapMount = exchange(45871, 111, 0x1a00);
  call(pmapMount, RPC_PROGRAM.PORTMAP, 2, PORTMAP_GETPORT, portmapGetportArgs({ program: RPC_PROGRAM.MOUNT, version: 3, transport: 'udp' }), portmapGetportResult(MOUNTD_PORT), false, 0);
  const mountd = exchange(1021, MOUNTD_PORT, 0x1b00);
  call(mountd, RPC_PROGRAM.MOUNT, 3, MOUNT_MNT, mountPathArgs(m.export), mountV3MntResult(rootFh, [1]));
  const pmapNfs = exchange(45872, 111, 0x1c00);
  call(pmapNfs, RPC_PROGRAM.PORTMAP, 2, PORTMAP_GETPORT, portmapGetportArgs({ program: RPC_PROGRAM.NFS, version: 3, transport: 'udp' }), portmapGetportResult(NFS_PORT), false);

  const time = STAMP - 86_400;
  const dir: Nfs3Attributes = { type: 2, mode: 0o755, size: 4096, fileId: 2, time };
  const file: Nfs3Attributes = { type: 1, mode: 0o755, size: Buffer.byteLength(m.fileContent), fileId: 131, time };
  const nfs = exchange(800, NFS_PORT, 0x1d00);
  call(nfs, RPC_PROGRAM.NFS, 3, NFS3_PROC.NULL, Buffer.alloc(0), Buffer.alloc(0), false, 1_500);
  call(nfs, RPC_PROGRAM.NFS, 3, NFS3_PROC.GETATTR, nfs3Args.getattr(rootFh), nfs3Result.getattr(dir));
  call(nfs, RPC_PROGRAM.NFS, 3, NFS3_PROC.LOOKUP, nfs3Args.lookup(rootFh, m.fileName), nfs3Result.lookup(fileFh, file, dir), true, 40_000);
  call(nfs, RPC_PROGRAM.NFS, 3, NFS3_PROC.READ, nfs3Args.read(fileFh, 0, 4096), nfs3Result.read(file, m.fileContent, true), true, 900);
  return pcapFile({ linkType: LINKTYPE.ETHERNET }, timeline.records);
}

/** GETPORT over TCP with the call record split across two segments, then MNT over TCP. */
function mountOverTcp(): Buffer {
  const timeline = new Timeline(clockAt(11, 20));
  const client = SITE.monitorBed15;
  const server = SITE.externalMount;
  const auth = rootCredentials('cms8000');

  const getport = rpcRecord(rpcCall({ xid: 0x2f6c0001, program: RPC_PROGRAM.PORTMAP, version: 2, procedure: PORTMAP_GETPORT }, portmapGetportArgs({ program: RPC_PROGRAM.MOUNT, version: 3, transport: 'tcp' })));
  const pmap = new TcpSession(timeline, { client: { ip: client, port: 43160 }, server: { ip: server, port: 111 }, rtt: RTT.internet, clientIsn: 0x0badc0de, serverIsn: 0x5eed1234 });
  pmap.handshake();
  pmap.pause(300).send('client', getport.subarray(0, 28), { ack: false }).pause(40).send('client', getport.subarray(28));
  pmap.pause(200).send('server', rpcRecord(rpcReply({ xid: 0x2f6c0001 }, portmapGetportResult(MOUNTD_PORT))));
  pmap.close('client');

  const mnt = rpcRecord(rpcCall({ xid: 0x2f6c0002, program: RPC_PROGRAM.MOUNT, version: 3, procedure: MOUNT_MNT, auth }, mountPathArgs('/pm')));
  const mountd = new TcpSession(timeline, { client: { ip: client, port: 1017 }, server: { ip: server, port: MOUNTD_PORT }, rtt: RTT.internet, clientIsn: 0x0badd00d, serverIsn: 0x5eed9876 });
  mountd.pause(1_200).handshake();
  mountd.pause(300).send('client', mnt);
  mountd.pause(400).send('server', rpcRecord(rpcReply({ xid: 0x2f6c0002 }, mountV3MntResult(fileHandle(77), [1]))));
  mountd.close('client');
  return pcapFile({ linkType: LINKTYPE.ETHERNET }, timeline.records);
}

/** NFSv4.0 over TCP 2049: NULL, then COMPOUNDs that find the root and look up /pm. */
function nfsv4(): Buffer {
  const timeline = new Timeline(clockAt(11, 30));
  const auth = rootCredentials('cms8000');
  const s = new TcpSession(timeline, { client: { ip: SITE.monitorBed16, port: 872 }, server: { ip: SITE.externalNfs4, port: NFS_PORT }, rtt: RTT.internet, clientIsn: 0x70e4a001, serverIsn: 0x13579bdf });
  const attrs = [NFS4_ATTR.TYPE, NFS4_ATTR.CHANGE, NFS4_ATTR.SIZE, NFS4_ATTR.FILEID];
  const dirValues = (change: number, fileId: number) => concat(xdr.u32(2), xdr.u64(change), xdr.u64(4096), xdr.u64(fileId));
  const rootFh = fileHandle(91);
  const pmFh = fileHandle(92);
  const exchange = (xid: number, procedure: number, args: Buffer, result: Buffer, pause: number) => {
    s.pause(pause).send('client', rpcRecord(rpcCall({ xid, program: RPC_PROGRAM.NFS, version: 4, procedure, auth: procedure === 0 ? undefined : auth }, args)));
    s.pause(300).send('server', rpcRecord(rpcReply({ xid }, result)));
  };
  s.handshake();
  exchange(0x6a110001, 0, Buffer.alloc(0), Buffer.alloc(0), 200);
  exchange(
    0x6a110002,
    NFS4_PROC_COMPOUND,
    nfs4Compound({}, [nfs4Op.putrootfh(), nfs4Op.getfh(), nfs4Op.getattr(attrs)]),
    nfs4CompoundResult({}, [nfs4OpResult.putrootfh(), nfs4OpResult.getfh(rootFh), nfs4OpResult.getattr(attrs, dirValues(1738144800, 2))]),
    600,
  );
  exchange(
    0x6a110003,
    NFS4_PROC_COMPOUND,
    nfs4Compound({}, [nfs4Op.putrootfh(), nfs4Op.lookup('pm'), nfs4Op.getfh(), nfs4Op.getattr(attrs)]),
    nfs4CompoundResult({}, [nfs4OpResult.putrootfh(), nfs4OpResult.lookup(), nfs4OpResult.getfh(pmFh), nfs4OpResult.getattr(attrs, dirValues(1738148400, 1201))]),
    500,
  );
  s.pause(2_000_000).close('client');
  return pcapFile({ linkType: LINKTYPE.ETHERNET }, timeline.records);
}

/**
 * AUTH_UNIX credentials of about `bytes` bytes, over RFC 5531's 400: a long machine name and
 * every supplementary group, as a client built to test a server (or a backdoor's own) sends.
 */
function oversizedCredentials(bytes: number): RpcAuthUnix {
  const gids = Array.from({ length: 64 }, (_, i) => 1000 + i);
  return { stamp: STAMP, machineName: 'cms8000-'.padEnd(bytes - 20 - 4 * gids.length, 'a'), uid: 0, gid: 0, gids };
}

/**
 * MNT /pm with 2 kB credentials over UDP: the 2.1 kB datagram leaves in two IPv4 fragments
 * (1500-byte MTU); the answer, a MOUNT v3 file handle, fits one datagram.
 */
function oversizedMountUdp(): Buffer {
  const timeline = new Timeline(clockAt(11, 40));
  const client = { ip: SITE.monitorBed14, port: 1019 };
  const server = { ip: SITE.externalMount, port: MOUNTD_PORT };
  const mnt = rpcCall({ xid: 0x3b7a0001, program: RPC_PROGRAM.MOUNT, version: 3, procedure: MOUNT_MNT, auth: oversizedCredentials(2048) }, mountPathArgs('/pm'));
  const packet = ipv4({ src: client.ip, dst: server.ip, id: 0x2c41, ttl: 64 }, udp({ sport: client.port, dport: server.port }, mnt));
  for (const fragment of fragmentIPv4(packet, 1480)) timeline.add('client', frame(client.ip, server.ip, fragment), RTT.internet, 200);
  const answer = new UdpExchange(timeline, { client, server, rtt: RTT.internet, clientIpId: 0x2c42, serverIpId: 0x7310 });
  answer.send('server', rpcReply({ xid: 0x3b7a0001 }, mountV3MntResult(fileHandle(101), [1])));
  return pcapFile({ linkType: LINKTYPE.ETHERNET }, timeline.records);
}

/** MNT /pm with 3 kB credentials over TCP: the record spans three segments. */
function oversizedMountTcp(): Buffer {
  const timeline = new Timeline(clockAt(11, 42));
  const mnt = rpcRecord(rpcCall({ xid: 0x3b7a0101, program: RPC_PROGRAM.MOUNT, version: 3, procedure: MOUNT_MNT, auth: oversizedCredentials(3072) }, mountPathArgs('/pm')));
  const s = new TcpSession(timeline, { client: { ip: SITE.monitorBed15, port: 1015 }, server: { ip: SITE.externalMount, port: MOUNTD_PORT }, rtt: RTT.internet, clientIsn: 0x1e55c001, serverIsn: 0x6a7b8c9d });
  s.handshake();
  s.pause(300).send('client', mnt);
  s.pause(400).send('server', rpcRecord(rpcReply({ xid: 0x3b7a0101 }, mountV3MntResult(fileHandle(102), [1]))));
  s.close('client');
  return pcapFile({ linkType: LINKTYPE.ETHERNET }, timeline.records);
}

/**
 * A MOUNT connection already open when the capture starts: the first bytes seen are the second
 * half of an EXPORT call (its 2 kB credentials), then the export list, then MNT /pm and its
 * answer. Neither direction starts at a record mark.
 */
function midstreamMount(): Buffer {
  const timeline = new Timeline(clockAt(11, 44));
  const auth = oversizedCredentials(2048);
  const s = new TcpSession(timeline, { client: { ip: SITE.monitorBed16, port: 40512 }, server: { ip: SITE.externalMount, port: MOUNTD_PORT }, rtt: RTT.internet, clientIsn: 0x4d1d0000, serverIsn: 0x2b2b0000 });
  const exportCall = rpcRecord(rpcCall({ xid: 0x3b7a0201, program: RPC_PROGRAM.MOUNT, version: 3, procedure: MOUNT_EXPORT, auth }));
  const [, ...captured] = s.unplaced((c) => c.send('client', exportCall, { ack: false }));
  for (const f of captured) s.placeFrame(f.from, f.frame);
  s.segment('server', 'A');
  s.pause(300).send('server', rpcRecord(rpcReply({ xid: 0x3b7a0201 }, mountExportList(['/pm', '/data']))));
  s.pause(800).send('client', rpcRecord(rpcCall({ xid: 0x3b7a0202, program: RPC_PROGRAM.MOUNT, version: 3, procedure: MOUNT_MNT, auth }, mountPathArgs('/pm'))));
  s.pause(400).send('server', rpcRecord(rpcReply({ xid: 0x3b7a0202 }, mountV3MntResult(fileHandle(103), [1]))));
  s.close('client');
  return pcapFile({ linkType: LINKTYPE.ETHERNET }, timeline.records);
}

/**
 * A client that sends NULL and EXPORT in one write (each with 1.5 kB credentials), then MNT /pm
 * (ordinary credentials) once both are answered; the mirror loses the write's second segment, which held the end of
 * NULL and the record mark of EXPORT. The server's ACK covers everything.
 */
function lostSegmentMount(): Buffer {
  const timeline = new Timeline(clockAt(11, 46));
  const auth = oversizedCredentials(1536);
  const s = new TcpSession(timeline, { client: { ip: SITE.monitorBed14, port: 1013 }, server: { ip: SITE.externalMount, port: MOUNTD_PORT }, rtt: RTT.internet, clientIsn: 0x0105e000, serverIsn: 0x7a7a0000 });
  const xid = 0x3b7a0301;
  const pipelined = concat(
    rpcRecord(rpcCall({ xid, program: RPC_PROGRAM.MOUNT, version: 3, procedure: 0, auth })),
    rpcRecord(rpcCall({ xid: xid + 1, program: RPC_PROGRAM.MOUNT, version: 3, procedure: MOUNT_EXPORT, auth })),
  );
  s.handshake();
  const [first, , ...rest] = s.pause(300).unplaced((c) => c.send('client', pipelined, { ack: false }));
  s.placeFrame(first.from, first.frame);
  for (const f of rest) s.placeFrame(f.from, f.frame);
  s.segment('server', 'A');
  s.pause(400).send('server', concat(rpcRecord(rpcReply({ xid })), rpcRecord(rpcReply({ xid: xid + 1 }, mountExportList(['/pm'])))));
  s.pause(300).send('client', rpcRecord(rpcCall({ xid: xid + 2, program: RPC_PROGRAM.MOUNT, version: 3, procedure: MOUNT_MNT, auth: rootCredentials('cms8000') }, mountPathArgs('/pm'))));
  s.pause(400).send('server', rpcRecord(rpcReply({ xid: xid + 2 }, mountV3MntResult(fileHandle(104), [1]))));
  s.close('client');
  return pcapFile({ linkType: LINKTYPE.ETHERNET }, timeline.records);
}

/** A MOUNT EXPORT answer: each directory with no group restriction. */
function mountExportList(dirs: readonly string[]): Buffer {
  return concat(...dirs.map((d) => concat(xdr.u32(1), xdr.string(d), xdr.u32(0))), xdr.u32(0));
}

const UPDATE_SCRIPT = '#!/bin/sh\n# synthetic sample file\necho "sample update" > /tmp/sample.log\n';

export const nfsScenarios: DetectionScenario[] = [
  {
    file: 'busybox-nfs-mount-udp.pcap',
    description: `busybox \`mount -o nolock -t nfs ${SITE.backdoor}:/pm\` from monitor ${SITE.monitor} over UDP: GETPORT mountd v3 (answer ${MOUNTD_PORT}), MNT /pm (status 0, file handle), GETPORT NFS v3 (answer ${NFS_PORT}), NFS v3 NULL, GETATTR, LOOKUP update.sh, READ`,
    expected: {
      alerts: { '1000001': 4, '1000004': 1 },
      why: `four UDP flows with the indicator ${SITE.backdoor} (two GETPORTs from different ports, MNT, NFS), one 1000001 each; MNT to an outside host (1000004); no 1000005, as a MNT was seen between the monitor and this server before any flow ended`,
    },
    build: () =>
      busyboxMount({ client: SITE.monitor, server: SITE.backdoor, rtt: RTT.china, export: '/pm', fileName: 'update.sh', fileContent: UPDATE_SCRIPT, start: [10, 5], seed: 11 }),
  },
  {
    file: 'mount-tcp.pcap',
    description: `Portmap GETPORT (mountd v3/TCP) from ${SITE.monitorBed15} to ${SITE.externalMount}:111 over TCP, the call record split across two segments, then MNT /pm over TCP to port ${MOUNTD_PORT}`,
    expected: {
      alerts: { '1000004': 1 },
      why: `MNT to an outside host (1000004); ${SITE.externalMount} is no indicator; no 1000005 for the portmap flow, since the MNT between the same hosts came before the flows ended`,
    },
    build: mountOverTcp,
  },
  {
    file: 'nfsv4-external.pcap',
    description: `NFSv4.0 over TCP from ${SITE.monitorBed16} to ${SITE.externalNfs4}:2049: NULL, COMPOUND (PUTROOTFH, GETFH, GETATTR), COMPOUND (PUTROOTFH, LOOKUP pm, GETFH, GETATTR), all answered OK`,
    expected: {
      alerts: { '1000005': 1 },
      why: 'NFS to an outside host with no MOUNT call between the two hosts (NFSv4 needs none): 1000005 once, when the flow ends; no MNT, so no 1000004',
    },
    build: nfsv4,
  },
  {
    file: 'nfs-internal-filer.pcap',
    description: `busybox-style mount of ${SITE.filer}:/export from ${SITE.monitor} over UDP: GETPORT, MNT /export, GETPORT, NFS v3 NULL, GETATTR, LOOKUP, READ`,
    expected: {
      alerts: {},
      why: 'the same sequence as the backdoor mount, but the filer is inside HOME_NET and no indicator: MOUNT and NFS rules need an outside server',
    },
    build: () =>
      busyboxMount({
        client: SITE.monitor,
        server: SITE.filer,
        rtt: RTT.lan,
        export: '/export',
        fileName: 'ward3-roster.txt',
        fileContent: 'ICU 3 staff roster, week 5 (sample file)\n',
        start: [10, 45],
        seed: 21,
      }),
  },
  {
    file: 'mount-oversized-auth-udp.pcap',
    description: `MNT /pm from ${SITE.monitorBed14} to ${SITE.externalMount}:${MOUNTD_PORT} over UDP with 2 kB AUTH_UNIX credentials (RFC 5531 allows 400 bytes), the datagram in two IPv4 fragments; answered with a file handle`,
    expected: {
      alerts: { '1000004': 1 },
      why: 'MNT to an outside host (1000004): the credentials break RFC 5531, which is counted (rpc.oversized_auth), not a reason to miss the call; no indicator address',
    },
    build: oversizedMountUdp,
  },
  {
    file: 'mount-oversized-auth-tcp.pcap',
    description: `MNT /pm from ${SITE.monitorBed15} to ${SITE.externalMount}:${MOUNTD_PORT} over TCP with 3 kB AUTH_UNIX credentials, the record in three segments; answered with a file handle`,
    expected: {
      alerts: { '1000004': 1 },
      why: 'MNT to an outside host (1000004), credentials over 400 bytes counted as rpc.oversized_auth',
    },
    build: oversizedMountTcp,
  },
  {
    file: 'mount-midstream.pcap',
    description: `A MOUNT TCP connection from ${SITE.monitorBed16} to ${SITE.externalMount}:${MOUNTD_PORT} picked up mid-stream: the tail of an EXPORT call, the export list, then MNT /pm and its file handle`,
    expected: {
      alerts: { '1000004': 1 },
      why: 'MNT to an outside host (1000004), found by hunting for the first record mark in each direction',
    },
    build: midstreamMount,
  },
  {
    file: 'mount-lost-segment.pcap',
    description: `NULL and EXPORT in one write from ${SITE.monitorBed14} to ${SITE.externalMount}:${MOUNTD_PORT} over TCP, the mirror losing the segment that holds the end of NULL and the start of EXPORT; both answered, then MNT /pm and its file handle`,
    expected: {
      alerts: { '1000004': 1 },
      why: 'MNT to an outside host (1000004), found after the lost segment by hunting for the next record mark',
    },
    build: lostSegmentMount,
  },
];
