/**
 * The DICOM protocol as the registry lists it: the upper layer analyzer, its events with the
 * fields rules may test, their EVE (`dicom` object) and text renderings, and what the inventory
 * learns (AE titles: the names imaging devices and archives go by).
 */
import { defineEvent, eveFields, type EveObject, type ProtocolDescriptor } from '../protocol.js';
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
    dicom: eveFields({
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
  names: (e) => [
    { host: 'client', name: e.callingAeTitle ?? '' },
    { host: 'server', name: e.calledAeTitle ?? '' },
  ],
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
    dicom: eveFields({
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
  names: (e) => [{ host: 'server', name: e.calledAeTitle ?? '' }],
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
  eve: (e) => ({ dicom: eveFields({ event: 'abort', source: e.source, reason: e.reason }) }),
  text: (e) => `DICOM abort by ${e.source}${e.reason !== undefined ? ` (${e.reason})` : ''}`,
});

const summary = defineEvent<DicomSummaryEvent>({
  type: 'dicom.summary',
  summary: 'At the end of a DICOM flow: associations and P-DATA volume per direction',
  fields: { associations: 'number', toServer: null, toClient: null },
  proves,
  eve: (e) => ({
    dicom: eveFields({ event: 'summary', associations: e.associations, to_server: volumeObject(e.toServer), to_client: volumeObject(e.toClient) }),
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
  // A modality or a PACS: devices the inventory lists with their AE titles, of no concern by themselves.
  speaker: { label: 'DICOM', concern: 0 },
};
