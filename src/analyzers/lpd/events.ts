/** What the LPD analyzer reports. */
import type { EventBase } from '../protocol.js';

/** An LPD daemon command or receive-job subcommand (RFC 1179); queue and size are absent in the `none` evidence mode. */
export interface LpdCommandEvent extends EventBase {
  readonly proto: 'lpd';
  readonly type: 'lpd.command';
  /** 'print-jobs', 'receive-job', 'queue-state-short', 'queue-state-long', 'remove-jobs', 'abort-job', 'receive-control-file', 'receive-data-file'. */
  readonly command: string;
  readonly code: number;
  /** The queue named by the daemon command (for subcommands: the queue of the job being received). */
  readonly queue?: string;
  /** Receive control/data file: the announced byte count (a data file's 0 means "until the connection ends"). */
  readonly size?: number;
}

/** A flow that the LPD analyzer is sure does not speak LPD, and what its first bytes look like. */
export interface NotLpdEvent extends EventBase {
  readonly proto: 'lpd';
  readonly type: 'lpd.not_lpd';
  readonly looksLike: 'text' | 'binary';
}

export type LpdEvent = LpdCommandEvent | NotLpdEvent;
