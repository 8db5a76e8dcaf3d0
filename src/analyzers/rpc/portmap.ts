/**
 * Portmap v2 and rpcbind v3/v4 (RFC 1833), program 100000: the calls that ask where a program
 * listens, and the answers that tell. A GETPORT / GETADDR / CALLIT answer with a port becomes a
 * `portmap.mapping` event and an expectation, so the flow layer can recognise the later
 * MOUNT/NFS flow to that port.
 */
import type { Direction } from '../analyzer.js';
import type { PortmapCallEvent } from './events.js';
import type { RpcCallInfo, RpcProgramDecoder, RpcSink } from './analyzer.js';
import type { XdrReader } from './xdr.js';

export const PORTMAP_PROGRAM = 100000;

const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
/** DUMP answers can list every registration on a host; report at most this many. */
const MAX_DUMP_ENTRIES = 256;

const PMAP_V2_PROCS = ['NULL', 'SET', 'UNSET', 'GETPORT', 'DUMP', 'CALLIT'];
const RPCB_V3_PROCS = ['NULL', 'SET', 'UNSET', 'GETADDR', 'DUMP', 'CALLIT', 'GETTIME', 'UADDR2TADDR', 'TADDR2UADDR'];
const RPCB_V4_PROCS = [
  'NULL', 'SET', 'UNSET', 'GETADDR', 'DUMP', 'BCAST', 'GETTIME', 'UADDR2TADDR', 'TADDR2UADDR',
  'GETVERSADDR', 'INDIRECT', 'GETADDRLIST', 'GETSTAT',
];

const enum Proc {
  Set = 1,
  Unset = 2,
  GetPort = 3, // GETADDR in v3/v4
  Dump = 4,
  CallIt = 5, // BCAST in v4
  GetVersAddr = 9,
  Indirect = 10,
  GetAddrList = 11,
}

function procedureTable(version: number): readonly string[] | undefined {
  return version === 2 ? PMAP_V2_PROCS : version === 3 ? RPCB_V3_PROCS : version === 4 ? RPCB_V4_PROCS : undefined;
}

export function portmapProcedureName(version: number, procedure: number): string {
  return procedureTable(version)?.[procedure] ?? String(procedure);
}

export function transportOfProtocol(prot: number): 'tcp' | 'udp' | undefined {
  return prot === IPPROTO_TCP ? 'tcp' : prot === IPPROTO_UDP ? 'udp' : undefined;
}

/** rpcbind netids name the transport: 'tcp'/'tcp6' and 'udp'/'udp6'; others ('local', 'rdma', ...) are not IP ports. */
export function transportOfNetid(netid: string): 'tcp' | 'udp' | undefined {
  return netid === 'tcp' || netid === 'tcp6' ? 'tcp' : netid === 'udp' || netid === 'udp6' ? 'udp' : undefined;
}

/**
 * Splits an rpcbind universal address for TCP/UDP: the host part, then two decimal octets of the
 * port ('10.0.0.5.3.235' is 10.0.0.5 port 3*256+235 = 1003; IPv6 'fe80::1.8.1' is port 2049).
 * Null when it is not in that form.
 */
export function parseUniversalAddress(uaddr: string): { host: string; port: number } | null {
  const lo = uaddr.lastIndexOf('.');
  if (lo <= 0) return null;
  const hi = uaddr.lastIndexOf('.', lo - 1);
  if (hi <= 0) return null;
  const p1 = parseOctet(uaddr.slice(hi + 1, lo));
  const p2 = parseOctet(uaddr.slice(lo + 1));
  if (p1 < 0 || p2 < 0) return null;
  const host = uaddr.slice(0, hi);
  const hostOk = host.includes(':')
    ? /^[0-9A-Fa-f:.]+$/.test(host)
    : host.split('.').length === 4 && host.split('.').every((o) => parseOctet(o) >= 0);
  return hostOk ? { host, port: p1 * 256 + p2 } : null;
}

function parseOctet(s: string): number {
  if (s.length === 0 || s.length > 3 || !/^[0-9]+$/.test(s)) return -1;
  const v = Number(s);
  return v <= 255 ? v : -1;
}

type MappingSource = 'getport' | 'getaddr' | 'callit' | 'dump';

/** What the reply decoder needs from the call. */
interface PortmapCallState {
  readonly answer: 'port' | 'uaddr' | 'callit-port' | 'callit-uaddr' | 'pmap-list' | 'rpcb-list' | 'none';
  readonly program: number;
  readonly version: number;
  readonly transport: 'tcp' | 'udp' | undefined;
}

const NO_ANSWER: PortmapCallState = { answer: 'none', program: 0, version: 0, transport: undefined };

export class PortmapDecoder implements RpcProgramDecoder {
  constructor(private readonly sink: RpcSink) {}

  procedureName(version: number, procedure: number): string {
    return portmapProcedureName(version, procedure);
  }

  call(call: RpcCallInfo, args: XdrReader): PortmapCallState {
    const { version, procedure } = call;
    const table = procedureTable(version);
    if (table === undefined) this.sink.programAnomaly('portmap.unknown_version');
    else if (procedure >= table.length) this.sink.programAnomaly('portmap.unknown_procedure');
    let state = NO_ANSWER;
    let event: PortmapCallEvent = {
      type: 'portmap.call',
      proto: 'portmap',
      dir: call.dir,
      xid: call.xid,
      version,
      procedure: portmapProcedureName(version, procedure),
    };
    if (version === 2) {
      if (procedure === Proc.Set || procedure === Proc.Unset || procedure === Proc.GetPort) {
        const program = args.u32();
        const programVersion = args.u32();
        const transport = transportOfProtocol(args.u32());
        if (args.ok) {
          event = { ...event, program, programVersion, ...(transport && { transport }) };
          if (procedure === Proc.GetPort) state = { answer: 'port', program, version: programVersion, transport };
        }
      } else if (procedure === Proc.CallIt) {
        const program = args.u32();
        const programVersion = args.u32();
        const calledProcedure = args.u32();
        if (args.ok) {
          event = { ...event, program, programVersion, calledProcedure };
          state = { answer: 'callit-port', program, version: programVersion, transport: 'udp' };
        }
      } else if (procedure === Proc.Dump) {
        state = { ...NO_ANSWER, answer: 'pmap-list' };
      }
    } else if (version === 3 || version === 4) {
      const remote = procedure === Proc.CallIt || (version === 4 && procedure === Proc.Indirect);
      const rpcbArgs =
        procedure === Proc.Set || procedure === Proc.Unset || procedure === Proc.GetPort ||
        (version === 4 && (procedure === Proc.GetVersAddr || procedure === Proc.GetAddrList));
      if (rpcbArgs) {
        const program = args.u32();
        const programVersion = args.u32();
        const netid = args.string();
        if (args.ok) {
          const transport = transportOfNetid(netid);
          event = { ...event, program, programVersion, ...(transport && { transport }), netid };
          if (procedure === Proc.GetPort || procedure === Proc.GetVersAddr) {
            state = { answer: 'uaddr', program, version: programVersion, transport };
          }
        }
      } else if (remote) {
        const program = args.u32();
        const programVersion = args.u32();
        const calledProcedure = args.u32();
        if (args.ok) {
          event = { ...event, program, programVersion, calledProcedure };
          state = { answer: 'callit-uaddr', program, version: programVersion, transport: this.sink.transport };
        }
      } else if (procedure === Proc.Dump) {
        state = { ...NO_ANSWER, answer: 'rpcb-list' };
      }
    }
    this.sink.emit(event);
    return state;
  }

  reply(_call: RpcCallInfo, state: PortmapCallState, results: XdrReader, dir: Direction): void {
    switch (state.answer) {
      case 'port':
      case 'callit-port': {
        const port = results.u32();
        if (results.ok && state.transport) {
          this.mapping(dir, state.program, state.version, state.transport, port, state.answer === 'port' ? 'getport' : 'callit', true);
        }
        return;
      }
      case 'uaddr':
      case 'callit-uaddr': {
        const uaddr = results.string();
        const parsed = results.ok ? parseUniversalAddress(uaddr) : null;
        if (parsed && state.transport) {
          const source = state.answer === 'uaddr' ? 'getaddr' : 'callit';
          this.mapping(dir, state.program, state.version, state.transport, parsed.port, source, true, uaddr);
        }
        return;
      }
      case 'pmap-list':
        for (let i = 0; i < MAX_DUMP_ENTRIES && results.bool(); i++) {
          const program = results.u32();
          const version = results.u32();
          const transport = transportOfProtocol(results.u32());
          const port = results.u32();
          if (!results.ok) return;
          if (transport) this.mapping(dir, program, version, transport, port, 'dump', false);
        }
        return;
      case 'rpcb-list':
        for (let i = 0; i < MAX_DUMP_ENTRIES && results.bool(); i++) {
          const program = results.u32();
          const version = results.u32();
          const transport = transportOfNetid(results.string());
          const uaddr = results.string();
          results.skipOpaque(); // owner
          if (!results.ok) return;
          const parsed = parseUniversalAddress(uaddr);
          if (transport && parsed) this.mapping(dir, program, version, transport, parsed.port, 'dump', false, uaddr);
        }
        return;
      case 'none':
        return;
    }
  }

  private mapping(
    dir: Direction,
    program: number,
    version: number,
    transport: 'tcp' | 'udp',
    port: number,
    source: MappingSource,
    expect: boolean,
    address?: string,
  ): void {
    // Port 0 is the binder's "not registered".
    if (port === 0 || port > 0xffff) return;
    const withAddress = address !== undefined && this.sink.evidence !== 'none';
    this.sink.emit({
      type: 'portmap.mapping',
      proto: 'portmap',
      dir,
      program,
      version,
      transport,
      port,
      source,
      ...(withAddress && { address }),
    });
    if (expect) this.sink.expect({ transport, port, program, version });
  }
}
