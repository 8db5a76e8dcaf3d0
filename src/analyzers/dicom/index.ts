/**
 * The DICOM protocol as the registry lists it: the upper layer analyzer, its events with the
 * fields rules may test, their EVE (`dicom` object) and text renderings, and what the inventory
 * learns (AE titles: the names imaging devices and archives go by).
 */
import { defineEvent, type EveObject, type ProtocolDescriptor } from '../protocol.js';
import { DICOM_ANOMALIES, dicomAnalyzer } from './analyzer.js';
import type {
  DicomAbortEvent,
  DicomAcceptedEvent,
  DicomAssociationEvent,
  DicomRejectedEvent,
  DicomReleaseEvent,
  DicomSummaryEvent,
  DicomVolume,
} from './events.js';

export type * from './events.js';
export { dicomAnalyzer } from './analyzer.js';

/** Only the keys whose value is defined (and, for strings, not empty); arrays are copied. */
function defined(fields: Record<string, unknown>): EveObject {
  const out: EveObject = {};
  for (const key in fields) {
    const value = fields[key];
    if (value === undefined || value === '') continue;
    out[key] = Array.isArray(value) ? [...value] : value;
  }
  return out;
}

function volumeObject(v: DicomVolume | undefined): EveObject | undefined {
  if (v === undefined) return undefined;
  return { pdus: v.pdus, bytes: v.bytes, pdvs: v.pdvs, command_fragments: v.commandFragments, dataset_fragments: v.datasetFragments };
}

function aeTitle(title: string): string {
  return title === '' ? '(blank)' : title;
}

function volumeText(label: string, v: DicomVolume): string {
  return `${label} ${v.pdus} PDUs ${v.bytes} bytes`;
}

const proves = (): string => 'dicom';

const association = defineEvent<DicomAssociationEvent>({
  type: 'dicom.association',
  summary: 'A DICOM A-ASSOCIATE-RQ: AE titles and the proposed SOP classes and transfer syntaxes',
  fields: {
    calledAeTitle: 'string',
    callingAeTitle: 'string',
    abstractSyntaxes: 'strings',
    abstractSyntaxUids: 'strings',
    transferSyntaxes: 'strings',
    applicationContext: 'string',
    implementationClassUid: 'string',
    implementationVersion: 'string',
    maxPduLength: 'number',
    truncated: 'boolean',
  },
  proves,
  eve: (e) => ({
    dicom: defined({
      event: 'association',
      called_ae_title: e.calledAeTitle,
      calling_ae_title: e.callingAeTitle,
      application_context: e.applicationContext,
      abstract_syntaxes: e.abstractSyntaxes,
      abstract_syntax_uids: e.abstractSyntaxUids,
      transfer_syntaxes: e.transferSyntaxes,
      implementation_class_uid: e.implementationClassUid,
      implementation_version: e.implementationVersion,
      max_pdu_length: e.maxPduLength,
      truncated: e.truncated === true,
    }),
  }),
  text: (e) => {
    const who = e.callingAeTitle !== undefined && e.calledAeTitle !== undefined ? ` ${aeTitle(e.callingAeTitle)} -> ${aeTitle(e.calledAeTitle)}` : '';
    const what = e.abstractSyntaxes.length > 0 ? ` (${e.abstractSyntaxes.join(', ')})` : '';
    return `DICOM association${who}${what}${e.truncated ? ', truncated' : ''}`;
  },
  inventory: (e) => ({ host: 'client', speaks: 'DICOM', ...(e.callingAeTitle ? { names: [e.callingAeTitle] } : {}), suspect: false }),
});

const accepted = defineEvent<DicomAcceptedEvent>({
  type: 'dicom.accepted',
  summary: 'A DICOM A-ASSOCIATE-AC: the SOP classes the acceptor took and how many contexts it refused',
  fields: {
    calledAeTitle: 'string',
    callingAeTitle: 'string',
    abstractSyntaxes: 'strings',
    abstractSyntaxUids: 'strings',
    transferSyntaxes: 'strings',
    acceptedContexts: 'number',
    rejectedContexts: 'number',
    implementationClassUid: 'string',
    implementationVersion: 'string',
    maxPduLength: 'number',
    truncated: 'boolean',
  },
  proves,
  eve: (e) => ({
    dicom: defined({
      event: 'accepted',
      called_ae_title: e.calledAeTitle,
      calling_ae_title: e.callingAeTitle,
      abstract_syntaxes: e.abstractSyntaxes,
      abstract_syntax_uids: e.abstractSyntaxUids,
      transfer_syntaxes: e.transferSyntaxes,
      accepted_contexts: e.acceptedContexts,
      rejected_contexts: e.rejectedContexts,
      implementation_class_uid: e.implementationClassUid,
      implementation_version: e.implementationVersion,
      max_pdu_length: e.maxPduLength,
      truncated: e.truncated === true,
    }),
  }),
  text: (e) => {
    const by = e.calledAeTitle !== undefined ? ` by ${aeTitle(e.calledAeTitle)}` : '';
    const parts = [...e.abstractSyntaxes];
    if (e.rejectedContexts > 0) parts.push(`${e.rejectedContexts} context${e.rejectedContexts === 1 ? '' : 's'} rejected`);
    return `DICOM association accepted${by}${parts.length > 0 ? ` (${parts.join(', ')})` : ''}${e.truncated ? ', truncated' : ''}`;
  },
  inventory: (e) => ({ host: 'server', speaks: 'DICOM', ...(e.calledAeTitle ? { names: [e.calledAeTitle] } : {}), suspect: false }),
});

const rejected = defineEvent<DicomRejectedEvent>({
  type: 'dicom.rejected',
  summary: 'A DICOM A-ASSOCIATE-RJ: result, source and reason in words',
  fields: { result: 'string', source: 'string', reason: 'string' },
  proves,
  eve: (e) => ({ dicom: { event: 'rejected', result: e.result, source: e.source, reason: e.reason } }),
  text: (e) => `DICOM association rejected: ${e.result} by ${e.source} (${e.reason})`,
});

const release = defineEvent<DicomReleaseEvent>({
  type: 'dicom.release',
  summary: 'A DICOM A-RELEASE-RQ or -RP: the association ends in order',
  fields: { phase: 'string' },
  proves,
  eve: (e) => ({ dicom: { event: 'release', phase: e.phase } }),
  text: (e) => `DICOM release ${e.phase}`,
});

const abort = defineEvent<DicomAbortEvent>({
  type: 'dicom.abort',
  summary: 'A DICOM A-ABORT: who aborted the association, and why when the provider did',
  fields: { source: 'string', reason: 'string' },
  proves,
  eve: (e) => ({ dicom: defined({ event: 'abort', source: e.source, reason: e.reason }) }),
  text: (e) => `DICOM abort by ${e.source}${e.reason !== undefined ? ` (${e.reason})` : ''}`,
});

const summary = defineEvent<DicomSummaryEvent>({
  type: 'dicom.summary',
  summary: 'At the end of a DICOM flow: associations and P-DATA volume per direction',
  fields: { associations: 'number', toServer: null, toClient: null },
  proves,
  eve: (e) => ({
    dicom: defined({ event: 'summary', associations: e.associations, to_server: volumeObject(e.toServer), to_client: volumeObject(e.toClient) }),
  }),
  text: (e) => {
    if (e.associations === undefined || e.toServer === undefined || e.toClient === undefined) return 'DICOM protocol';
    const count = `${e.associations} association${e.associations === 1 ? '' : 's'}`;
    return `DICOM ${count}, P-DATA ${volumeText('to server', e.toServer)}, ${volumeText('to client', e.toClient)}`;
  },
});

export const dicomProtocol: ProtocolDescriptor = {
  name: 'dicom',
  appProtos: ['dicom'],
  analyzer: dicomAnalyzer,
  events: [association, accepted, rejected, release, abort, summary],
  eveExtensionKeys: ['dicom'],
  anomalies: DICOM_ANOMALIES,
};
