/**
 * The RPC programs whose arguments and results are decoded, one line each: the RPC analyzer
 * makes a program's decoder the first time a flow calls it, and a flow whose calls name the
 * program takes its app_proto.
 */
import type { RpcProgramDecoder, RpcSink } from './analyzer.js';
import { MOUNT_PROGRAM, MountDecoder } from './mount.js';
import { NFS_PROGRAM, NfsDecoder } from './nfs.js';
import { PORTMAP_PROGRAM, PortmapDecoder } from './portmap.js';

export interface RpcProgram {
  readonly program: number;
  /** The app_proto of a flow that calls it; a protocol descriptor that refines 'rpc' declares it. */
  readonly appProto: string;
  create(sink: RpcSink): RpcProgramDecoder;
}

export const RPC_PROGRAMS: readonly RpcProgram[] = [
  { program: PORTMAP_PROGRAM, appProto: 'portmap', create: (sink) => new PortmapDecoder(sink) },
  { program: MOUNT_PROGRAM, appProto: 'mount', create: (sink) => new MountDecoder(sink) },
  { program: NFS_PROGRAM, appProto: 'nfs', create: (sink) => new NfsDecoder(sink) },
];

const BY_NUMBER = new Map(RPC_PROGRAMS.map((p) => [p.program, p]));

export function rpcProgram(program: number): RpcProgram | undefined {
  return BY_NUMBER.get(program);
}

/** The app_proto a flow calling `program` gets: the program's own, else plain 'rpc'. */
export function rpcProgramProto(program: number): string {
  return BY_NUMBER.get(program)?.appProto ?? 'rpc';
}
