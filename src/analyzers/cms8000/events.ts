/** What the CMS8000 analyzer reports. Fields that can hold patient data live only under `phi`. */
import type { EventBase } from '../protocol.js';

/**
 * Once per flow, when a run of well-formed CMS8000 blocks makes the protocol certain; `dir` is
 * the direction that completed the run. In the `none` evidence mode only the type is set.
 */
export interface Cms8000DetectedEvent extends EventBase {
  readonly proto: 'cms8000';
  readonly type: 'cms8000.detected';
  /** Distinct block types seen so far in either direction, ascending. */
  readonly blockTypes?: readonly number[];
  /**
   * What the capture did not show before the detection: `gap` (bytes lost or cut by the snap
   * length), `midstream` (the connection was picked up after it began). Absent when nothing.
   */
  readonly incomplete?: readonly Cms8000Incomplete[];
  /** Full evidence mode only: the patient block seen before detection, if any. */
  readonly phi?: Cms8000PatientEvent['phi'];
}

/** A CMS8000 patient information block (type 0x3E). */
export interface Cms8000PatientEvent extends EventBase {
  readonly proto: 'cms8000';
  readonly type: 'cms8000.patient';
  /** Body length in bytes (absent in the `none` evidence mode). */
  readonly length?: number;
  /** Full evidence mode only, and only when no bytes of the fields were lost to a capture gap. */
  readonly phi?: {
    readonly department: string;
    readonly bed: number;
    readonly name: string;
    readonly patientNumber: string;
    readonly admitDate: string;
    readonly heightCm: number;
    readonly weight: number;
    readonly birthDate: string;
    readonly bloodType: number;
    readonly doctor: string;
  };
}

/**
 * At the end of a detected CMS8000 flow: how many blocks of each type were seen, both directions
 * together; `dir` is the direction that was detected. In the `none` evidence mode only the type is set.
 */
export interface Cms8000SummaryEvent extends EventBase {
  readonly proto: 'cms8000';
  readonly type: 'cms8000.summary';
  /** Keyed by block type as '0x' and two upper-case hex digits, e.g. '0x46', '0x3E'. */
  readonly blockCounts?: Readonly<Record<string, number>>;
  readonly patientBlocks?: number;
  /** Blocks with an impossible header or a wrong fixed body head; each bad header starts a resync. */
  readonly malformedBlocks?: number;
  /** Bytes passed over while resynchronising after a malformed header or a capture gap. */
  readonly skippedBytes?: number;
}

export type Cms8000Incomplete = 'gap' | 'midstream';

export type Cms8000Event = Cms8000DetectedEvent | Cms8000PatientEvent | Cms8000SummaryEvent;
