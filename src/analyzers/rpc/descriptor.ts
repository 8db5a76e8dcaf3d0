/**
 * ONC RPC and the programs decoded inside it (portmap/rpcbind, MOUNT, NFS) as the registry
 * knows them: one descriptor each, the programs refining 'rpc'. Their EVE objects follow
 * Suricata's `rpc` and `nfs` where it has them.
 */
import { defineEvent, eveFields, type EveObject, type ProtocolDescriptor } from '../protocol.js';
import { rpcAnalyzer, rpcProgramName } from './analyzer.js';
import type {
  MountCallEvent,
  MountReplyEvent,
  NfsCallEvent,
  NfsSessionEvent,
  PortmapCallEvent,
  PortmapMappingEvent,
  RpcAuth,
  RpcCallEvent,
  RpcReplyEvent,
} from './events.js';
import { rpcProgramProto } from './programs.js';

/** Suricata's names for RPC auth flavors (NULL, UNIX, SHORT, DH, GSS), else the number. */
const AUTH_TYPES: Record<string, string> = { none: 'NULL', unix: 'UNIX', short: 'SHORT', des: 'DH', gss: 'GSS', tls: '7' };

function rpcCallObject(xid: number, auth: RpcAuth): EveObject {
  const rpc: EveObject = { xid, auth_type: AUTH_TYPES[auth.flavor] ?? auth.flavor.replace(/^flavor-/, '') };
  if (auth.flavor === 'unix' && (auth.machineName !== undefined || auth.uid !== undefined || auth.gid !== undefined)) {
    rpc.creds = eveFields({ machine_name: auth.machineName, uid: auth.uid, gid: auth.gid });
  }
  return rpc;
}

function nfsVersion(version: number, minorVersion: number | undefined): string {
  return minorVersion !== undefined && minorVersion > 0 ? `${version}.${minorVersion}` : String(version);
}

const call = defineEvent<RpcCallEvent>({
  type: 'rpc.call',
  summary: 'an RPC call: program, version, procedure, credentials',
  fields: { program: 'number', programName: 'string', version: 'number', procedure: 'number', procedureName: 'string', xid: null, auth: null },
  proves: (event) => rpcProgramProto(event.program),
  eve(event, _mode, extension) {
    const out: EveObject = { rpc: rpcCallObject(event.xid, event.auth) };
    if (event.programName === 'nfs') out.nfs = { version: event.version, procedure: event.procedureName, type: 'request' };
    else if (event.programName === 'mount') out.mount = { procedure: event.procedureName, version: event.version };
    else if (event.programName === 'portmap') out.portmap = { procedure: event.procedureName, version: event.version };
    else extension.rpc = { program: event.programName, version: event.version, procedure: event.procedureName };
    return out;
  },
  text: (event) => `RPC ${event.programName} v${event.version} ${event.procedureName}${event.auth.machineName !== undefined ? ` from machine ${event.auth.machineName}` : ''}`,
});

const reply = defineEvent<RpcReplyEvent>({
  type: 'rpc.reply',
  summary: 'an RPC reply: accept status or denial, and the call it answers',
  fields: { program: 'number', version: 'number', procedure: 'number', status: 'string', xid: null, denial: null },
  proves: (event) => rpcProgramProto(event.program),
  eve(event, _mode, extension) {
    extension.rpc = eveFields({
      accept_status: event.status === 'denied' ? undefined : event.status,
      denial: event.denial,
      program: event.program < 0 ? undefined : rpcProgramName(event.program),
      version: event.program < 0 ? undefined : event.version,
      procedure: event.program < 0 ? undefined : event.procedure,
    });
    return { rpc: { xid: event.xid, status: event.status === 'denied' ? 'DENIED' : 'ACCEPTED' } };
  },
  text: (event) =>
    `RPC reply ${event.status}${event.denial !== undefined ? ` (${event.denial})` : ''}${event.program >= 0 ? ` to ${rpcProgramName(event.program)} v${event.version}` : ''}`,
});

const portmapCall = defineEvent<PortmapCallEvent>({
  type: 'portmap.call',
  summary: 'a portmap (v2) or rpcbind (v3, v4) question',
  fields: {
    procedure: 'string',
    program: 'number',
    version: 'number',
    xid: null,
    programVersion: null,
    transport: null,
    netid: null,
    calledProcedure: null,
  },
  eve: (event) => ({
    rpc: { xid: event.xid },
    portmap: eveFields({
      procedure: event.procedure,
      version: event.version,
      program: event.program,
      program_name: event.program === undefined ? undefined : rpcProgramName(event.program),
      program_version: event.programVersion,
      transport: event.transport,
      netid: event.netid,
      called_procedure: event.calledProcedure,
    }),
  }),
  text(event) {
    const program = event.program !== undefined ? ` ${rpcProgramName(event.program)}` : '';
    const version = event.programVersion !== undefined ? ` v${event.programVersion}` : '';
    return `portmap ${event.procedure}${program}${version}${event.transport !== undefined ? ` ${event.transport}` : ''}`;
  },
});

const portmapMapping = defineEvent<PortmapMappingEvent>({
  type: 'portmap.mapping',
  summary: 'where a program listens, as a portmap/rpcbind answer says',
  fields: { program: 'number', version: 'number', transport: 'string', port: 'number', source: null, address: null },
  proves: () => 'portmap',
  eve: (event) => ({
    portmap: eveFields({
      program: event.program,
      program_name: rpcProgramName(event.program),
      program_version: event.version,
      transport: event.transport,
      port: event.port,
      source: event.source,
      address: event.address,
    }),
  }),
  text: (event) => `portmap ${rpcProgramName(event.program)} v${event.version} at ${event.transport} port ${event.port}`,
});

const mountCall = defineEvent<MountCallEvent>({
  type: 'mount.call',
  summary: 'a MOUNT call (MNT names the export path)',
  fields: { version: 'number', procedure: 'string', path: 'string', xid: null },
  proves: () => 'mount',
  eve: (event) => ({ rpc: { xid: event.xid }, mount: eveFields({ procedure: event.procedure, version: event.version, path: event.path }) }),
  text: (event) => `${event.procedure}${event.path !== undefined ? ` ${event.path}` : ''} (MOUNT v${event.version})`,
});

const mountReply = defineEvent<MountReplyEvent>({
  type: 'mount.reply',
  summary: 'a MOUNT reply: status, file handle, exports',
  fields: { version: 'number', procedure: 'string', status: 'number', xid: null, fileHandle: null, authFlavors: null, exports: null },
  proves: () => 'mount',
  eve: (event) => ({
    rpc: { xid: event.xid },
    mount: eveFields({
      procedure: event.procedure,
      version: event.version,
      status: event.status,
      file_handle: event.fileHandle,
      auth_flavors: event.authFlavors,
      exports: event.exports,
    }),
  }),
  text(event) {
    const status = event.status === 0 ? 'ok' : `status ${event.status}`;
    const exports = event.exports !== undefined ? `, exports ${event.exports.join(',')}` : '';
    return `${event.procedure} reply ${status} (MOUNT v${event.version})${exports}`;
  },
});

const nfsCall = defineEvent<NfsCallEvent>({
  type: 'nfs.call',
  summary: 'an NFS call: procedure, or the operations of an NFSv4 COMPOUND',
  fields: { version: 'number', procedure: 'string', operations: 'strings', xid: null, minorVersion: null },
  proves: () => 'nfs',
  eve(event, _mode, extension) {
    if (event.minorVersion !== undefined || event.operations !== undefined) {
      extension.nfs = eveFields({ minor_version: event.minorVersion, operations: event.operations });
    }
    return { rpc: { xid: event.xid }, nfs: { version: event.version, procedure: event.procedure, type: 'request' } };
  },
  text: (event) =>
    `NFSv${nfsVersion(event.version, event.minorVersion)} ${event.procedure}${event.operations !== undefined && event.operations.length > 0 ? ` ${event.operations.join(',')}` : ''}`,
});

const nfsSession = defineEvent<NfsSessionEvent>({
  type: 'nfs.session',
  summary: 'first evidence that an NFS session works (once per flow)',
  fields: { version: 'number', minorVersion: null, inferredFromCalls: null },
  proves: () => 'nfs',
  eve(event, _mode, extension) {
    extension.nfs = eveFields({ session: true, minor_version: event.minorVersion, inferred_from_calls: event.inferredFromCalls });
    return { nfs: { version: event.version } };
  },
  text: (event) => `NFSv${nfsVersion(event.version, event.minorVersion)} session working${event.inferredFromCalls ? ' (inferred from calls)' : ''}`,
});

export const rpcProtocol: ProtocolDescriptor = {
  name: 'rpc',
  appProtos: ['rpc'],
  analyzer: rpcAnalyzer,
  events: [call, reply],
  anomalies: ['malformed', 'oversized_record', 'unmatched_reply', 'evicted_call', 'resync', 'oversized_auth', 'unknown_auth_flavor'],
};

export const portmapProtocol: ProtocolDescriptor = {
  name: 'portmap',
  appProtos: ['portmap'],
  refines: 'rpc',
  events: [portmapCall, portmapMapping],
  eveExtensionKeys: ['portmap'],
  anomalies: ['unknown_version', 'unknown_procedure'],
};

export const mountProtocol: ProtocolDescriptor = {
  name: 'mount',
  appProtos: ['mount'],
  refines: 'rpc',
  events: [mountCall, mountReply],
  eveExtensionKeys: ['mount'],
  anomalies: ['unknown_version', 'unknown_procedure', 'long_path'],
};

export const nfsProtocol: ProtocolDescriptor = {
  name: 'nfs',
  appProtos: ['nfs'],
  refines: 'rpc',
  events: [nfsCall, nfsSession],
  anomalies: ['unknown_version', 'unknown_procedure'],
};
