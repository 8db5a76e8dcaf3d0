/**
 * What the DICOM upper layer analyzer reports. Dataset contents are never read, so no event
 * carries patient data. AE titles name devices and applications, not people: they are kept in
 * the redacted mode and left out, with the implementation details, in the `none` mode.
 */
import type { EventBase } from '../protocol.js';

interface DicomEventBase extends EventBase {
  readonly proto: 'dicom';
}

/** An A-ASSOCIATE-RQ: the requester (usually the TCP client) proposes an association. */
export interface DicomAssociationEvent extends DicomEventBase {
  readonly type: 'dicom.association';
  /** The AE title asked for and the requester's own (trimmed, at most 16 characters). */
  readonly calledAeTitle?: string;
  readonly callingAeTitle?: string;
  /** Proposed abstract syntaxes (SOP classes) by name, or the UID when it has none; distinct, in order. */
  readonly abstractSyntaxes: readonly string[];
  readonly abstractSyntaxUids: readonly string[];
  /** Proposed transfer syntaxes by name (or UID); distinct, in order. */
  readonly transferSyntaxes: readonly string[];
  /** 'DICOM Application Context' or the UID proposed. */
  readonly applicationContext?: string;
  readonly implementationClassUid?: string;
  readonly implementationVersion?: string;
  /** The largest P-DATA-TF the requester will take (0: no limit). */
  readonly maxPduLength?: number;
  /** The items were not all read: an item length past the PDU, or a PDU beyond the size kept. */
  readonly truncated?: true;
}

/** An A-ASSOCIATE-AC: the acceptor takes the association. */
export interface DicomAcceptedEvent extends DicomEventBase {
  readonly type: 'dicom.accepted';
  /** Echoed from the request. */
  readonly calledAeTitle?: string;
  readonly callingAeTitle?: string;
  /** Accepted abstract syntaxes by name (or UID), for the contexts the request was seen to propose. */
  readonly abstractSyntaxes: readonly string[];
  readonly abstractSyntaxUids: readonly string[];
  /** Transfer syntaxes of the accepted contexts by name (or UID); distinct, in order. */
  readonly transferSyntaxes: readonly string[];
  readonly acceptedContexts: number;
  readonly rejectedContexts: number;
  readonly implementationClassUid?: string;
  readonly implementationVersion?: string;
  readonly maxPduLength?: number;
  readonly truncated?: true;
}

/** An A-ASSOCIATE-RJ. */
export interface DicomRejectedEvent extends DicomEventBase {
  readonly type: 'dicom.rejected';
  /** 'rejected-permanent' or 'rejected-transient'. */
  readonly result: string;
  /** 'service-user', 'service-provider-acse' or 'service-provider-presentation'. */
  readonly source: string;
  /** E.g. 'called-ae-title-not-recognized', 'no-reason-given', 'temporary-congestion'. */
  readonly reason: string;
}

/** An A-RELEASE-RQ (phase 'request') or A-RELEASE-RP ('reply'): the association ends in order. */
export interface DicomReleaseEvent extends DicomEventBase {
  readonly type: 'dicom.release';
  readonly phase: 'request' | 'reply';
}

/** An A-ABORT. */
export interface DicomAbortEvent extends DicomEventBase {
  readonly type: 'dicom.abort';
  /** 'service-user' or 'service-provider'. */
  readonly source: string;
  /** The service provider's reason, e.g. 'unexpected-pdu'. */
  readonly reason?: string;
}

/** P-DATA-TF traffic of one direction. */
export interface DicomVolume {
  readonly pdus: number;
  /** Bytes of P-DATA-TF PDUs seen, headers included. */
  readonly bytes: number;
  readonly pdvs: number;
  /** PDVs holding command (DIMSE) fragments and dataset fragments. */
  readonly commandFragments: number;
  readonly datasetFragments: number;
}

/**
 * At the end of a flow identified as DICOM. In the `none` evidence mode only the type is set.
 */
export interface DicomSummaryEvent extends DicomEventBase {
  readonly type: 'dicom.summary';
  /** A-ASSOCIATE-RQ PDUs seen. */
  readonly associations?: number;
  readonly toServer?: DicomVolume;
  readonly toClient?: DicomVolume;
}

export type DicomEvent = DicomAssociationEvent | DicomAcceptedEvent | DicomRejectedEvent | DicomReleaseEvent | DicomAbortEvent | DicomSummaryEvent;
