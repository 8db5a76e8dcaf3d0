/**
 * What a run analysed and under which settings: the facts an incident report starts with, and the
 * `run` record of the EVE output, so a report made later from EVE files has them too.
 */
import type { EvidenceMode } from '../analyzers/analyzer.js';

export interface CaptureFacts {
  /** As alerts name it: the path given, or `<stdin>`. */
  name: string;
  format: string;
  compressed: boolean;
  /** Bytes on disk; null for standard input or a pipe. */
  sizeBytes: number | null;
  /** Of the file's bytes as stored (compressed or not); null when it could not be read again. */
  sha256: string | null;
  packets: number;
  /** Timestamps of the first and last packet as [seconds, nanoseconds]; null without packets. */
  first: [number, number] | null;
  last: [number, number] | null;
  /** Where reading stopped on a damaged capture. */
  damaged: { offset: number; message: string } | null;
}

export interface RunFacts {
  version: string;
  /** The rule directory, a digest of the rule and indicator files, and each rule's id and revision. */
  rules: { dir: string; revision: string; rules: ReadonlyArray<{ id: number; rev: number }> };
  homeNet: readonly string[];
  evidence: EvidenceMode;
  captures: CaptureFacts[];
  /** Live capture: the interface. */
  interfaceName: string | null;
  /** When the facts were gathered: every output gives the run record this one time. */
  recordedAtMs: number;
}
