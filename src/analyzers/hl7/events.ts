/** What the HL7 analyzer reports. Fields that can hold patient data live only under `phi`. */
import type { EventBase } from '../protocol.js';

/**
 * One HL7 v2 message (or batch header) seen in a flow. A batch header event has `segments`
 * starting with FHS or BHS, empty messageType/triggerEvent/version, and takes controlId,
 * sendingApplication and sendingFacility from FHS-11/FHS-3/FHS-4 (or BHS-11/-3/-4). In the
 * `none` evidence mode controlId, sendingApplication and sendingFacility are ''.
 */
export interface Hl7MessageEvent extends EventBase {
  readonly proto: 'hl7';
  readonly type: 'hl7.message';
  readonly framing: 'mllp' | 'bare';
  /** MSH-9.1 and MSH-9.2, e.g. ORU and R01 ('' when absent, cut off, or not of the standard's shape). */
  readonly messageType: string;
  readonly triggerEvent: string;
  /** MSH-10, MSH-12, MSH-3, MSH-4 (MSH-3/4 whole, components included, at most 128 characters). */
  readonly controlId: string;
  readonly version: string;
  readonly sendingApplication: string;
  readonly sendingFacility: string;
  /** Segment ids in order, e.g. ['MSH', 'PID', 'OBR', 'OBX'] (the first 1024 of a message). */
  readonly segments: readonly string[];
  /** The segment ids present that carry patient identity (PID, NK1, PV1, IN1, GT1, ...). */
  readonly identitySegments: readonly string[];
  /** Message length in bytes, framing excluded (bytes seen, for a truncated message). */
  readonly length: number;
  /**
   * The message was not seen to its end: larger than the size cap, cut by the end of the flow,
   * or broken by bytes that are not HL7.
   */
  readonly truncated?: true;
  /**
   * What the capture did not show, besides `truncated`: `gap` (bytes of the message were lost
   * or cut by the snap length), `midstream` (its direction was picked up after the connection
   * began, or its analysis began after a gap). Absent when neither.
   */
  readonly incomplete?: readonly Hl7Incomplete[];
  /** Full evidence mode only: the message text (up to the size cap). */
  readonly phi?: { readonly text: string };
}

export type Hl7Incomplete = 'gap' | 'midstream';

export type Hl7Event = Hl7MessageEvent;
