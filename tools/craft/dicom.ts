/**
 * DICOM upper layer PDUs (PS3.8 section 9.3) and the few DIMSE command and dataset elements
 * (implicit VR little endian, PS3.5/PS3.7) the sample captures carry.
 */
import { concat, toBuffer, u16be, u32be, type Payload } from './bytes.js';

export const DICOM_PDU = {
  associateRq: 0x01,
  associateAc: 0x02,
  associateRj: 0x03,
  pData: 0x04,
  releaseRq: 0x05,
  releaseRp: 0x06,
  abort: 0x07,
} as const;

export const DICOM_UID = {
  applicationContext: '1.2.840.10008.3.1.1.1',
  verification: '1.2.840.10008.1.1',
  ctImageStorage: '1.2.840.10008.5.1.4.1.1.2',
  mrImageStorage: '1.2.840.10008.5.1.4.1.1.4',
  secondaryCapture: '1.2.840.10008.5.1.4.1.1.7',
  studyRootMove: '1.2.840.10008.5.1.4.1.2.2.2',
  studyRootFind: '1.2.840.10008.5.1.4.1.2.2.1',
  modalityWorklistFind: '1.2.840.10008.5.1.4.31',
  implicitVrLittleEndian: '1.2.840.10008.1.2',
  explicitVrLittleEndian: '1.2.840.10008.1.2.1',
  jpegBaseline: '1.2.840.10008.1.2.4.50',
} as const;

/** A PDU: type, reserved, u32 length, body. `length` overrides the true length (to craft lies). */
export function dicomPdu(type: number, body: Payload, length?: number): Buffer {
  const b = toBuffer(body);
  return concat(Buffer.from([type, 0]), u32be(length ?? b.length), b);
}

/** An item or sub-item: type, reserved, u16 length, value. */
export function dicomItem(type: number, value: Payload, length?: number): Buffer {
  const v = toBuffer(value);
  return concat(Buffer.from([type, 0]), u16be(length ?? v.length), v);
}

/** A UID as sent: padded with a NUL to an even length. */
function uidValue(uid: string): Buffer {
  return Buffer.from(uid.length % 2 === 1 ? uid + '\0' : uid, 'latin1');
}

/** An AE title: 16 bytes, space padded. */
export function dicomAeTitle(title: string): Buffer {
  return Buffer.from(title.slice(0, 16).padEnd(16, ' '), 'latin1');
}

export interface DicomUserInfo {
  maxPduLength?: number;
  implementationClassUid?: string;
  implementationVersion?: string;
}

function userInfoItem(u: DicomUserInfo): Buffer {
  const subs: Buffer[] = [];
  if (u.maxPduLength !== undefined) subs.push(dicomItem(0x51, u32be(u.maxPduLength)));
  if (u.implementationClassUid !== undefined) subs.push(dicomItem(0x52, uidValue(u.implementationClassUid)));
  if (u.implementationVersion !== undefined) subs.push(dicomItem(0x55, Buffer.from(u.implementationVersion, 'latin1')));
  return dicomItem(0x50, concat(...subs));
}

function associateFixed(called: string, calling: string, protocolVersion = 1): Buffer {
  return concat(u16be(protocolVersion), u16be(0), dicomAeTitle(called), dicomAeTitle(calling), Buffer.alloc(32));
}

export interface DicomProposedContext {
  /** Odd, 1..255. */
  id: number;
  abstractSyntax: string;
  transferSyntaxes: readonly string[];
}

export interface DicomAssociateRqOptions extends DicomUserInfo {
  calledAeTitle: string;
  callingAeTitle: string;
  contexts: readonly DicomProposedContext[];
  applicationContext?: string;
  protocolVersion?: number;
}

export function dicomPresentationContextRq(c: DicomProposedContext): Buffer {
  return dicomItem(0x20, concat(Buffer.from([c.id, 0, 0, 0]), dicomItem(0x30, uidValue(c.abstractSyntax)), ...c.transferSyntaxes.map((t) => dicomItem(0x40, uidValue(t)))));
}

/** The variable items of an A-ASSOCIATE-RQ, for tests that assemble a PDU by hand. */
export function dicomAssociateRqItems(o: DicomAssociateRqOptions): Buffer {
  return concat(dicomItem(0x10, uidValue(o.applicationContext ?? DICOM_UID.applicationContext)), ...o.contexts.map(dicomPresentationContextRq), userInfoItem(o));
}

export function dicomAssociateRq(o: DicomAssociateRqOptions): Buffer {
  return dicomPdu(DICOM_PDU.associateRq, concat(associateFixed(o.calledAeTitle, o.callingAeTitle, o.protocolVersion), dicomAssociateRqItems(o)));
}

export interface DicomContextResult {
  id: number;
  /** 0 acceptance, 1 user rejection, 2 no reason, 3 abstract syntax not supported, 4 transfer syntaxes not supported. */
  result: number;
  transferSyntax: string;
}

export interface DicomAssociateAcOptions extends DicomUserInfo {
  calledAeTitle: string;
  callingAeTitle: string;
  contexts: readonly DicomContextResult[];
}

export function dicomAssociateAc(o: DicomAssociateAcOptions): Buffer {
  const contexts = o.contexts.map((c) => dicomItem(0x21, concat(Buffer.from([c.id, 0, c.result, 0]), dicomItem(0x40, uidValue(c.transferSyntax)))));
  const items = concat(dicomItem(0x10, uidValue(DICOM_UID.applicationContext)), ...contexts, userInfoItem(o));
  return dicomPdu(DICOM_PDU.associateAc, concat(associateFixed(o.calledAeTitle, o.callingAeTitle), items));
}

/** result 1 permanent, 2 transient; source 1 service user, 2 provider (ACSE), 3 provider (presentation). */
export function dicomAssociateRj(o: { result: number; source: number; reason: number }): Buffer {
  return dicomPdu(DICOM_PDU.associateRj, Buffer.from([0, o.result, o.source, o.reason]));
}

export interface DicomPdv {
  contextId: number;
  /** A command (DIMSE) fragment rather than a dataset fragment. */
  command: boolean;
  last: boolean;
  data: Payload;
}

/** One presentation data value item: u32 length, context id, message control header, fragment. */
export function dicomPdvItem(p: DicomPdv): Buffer {
  const data = toBuffer(p.data);
  return concat(u32be(data.length + 2), Buffer.from([p.contextId, (p.command ? 1 : 0) | (p.last ? 2 : 0)]), data);
}

export function dicomPData(pdvs: readonly DicomPdv[]): Buffer {
  return dicomPdu(DICOM_PDU.pData, concat(...pdvs.map(dicomPdvItem)));
}

/**
 * A message (command or dataset) as P-DATA-TF PDUs of at most `maxPduLength` bytes (the peer's
 * maximum length, which counts the PDV headers), one PDV each, the last one marked last.
 */
export function dicomMessage(contextId: number, command: boolean, message: Payload, maxPduLength = 16384): Buffer[] {
  const m = toBuffer(message);
  const room = maxPduLength - 6;
  const pdus: Buffer[] = [];
  for (let at = 0; at < m.length || pdus.length === 0; at += room) {
    const data = m.subarray(at, Math.min(at + room, m.length));
    pdus.push(dicomPData([{ contextId, command, last: at + room >= m.length, data }]));
  }
  return pdus;
}

export function dicomReleaseRq(): Buffer {
  return dicomPdu(DICOM_PDU.releaseRq, Buffer.alloc(4));
}

export function dicomReleaseRp(): Buffer {
  return dicomPdu(DICOM_PDU.releaseRp, Buffer.alloc(4));
}

/** source 0 service user, 2 service provider (with a reason). */
export function dicomAbort(o: { source: number; reason?: number }): Buffer {
  return dicomPdu(DICOM_PDU.abort, Buffer.from([0, 0, o.source, o.reason ?? 0]));
}

// DIMSE and datasets: implicit VR little endian data elements.

/** One element: group, element, u32le length, value padded to an even length (text with a space, UIDs with a NUL). */
export function dicomElement(group: number, element: number, value: Payload | number, kind: 'text' | 'uid' | 'us' | 'ul' | 'bytes' = 'text'): Buffer {
  let v: Buffer;
  if (typeof value === 'number') {
    v = Buffer.alloc(kind === 'ul' ? 4 : 2);
    if (kind === 'ul') v.writeUInt32LE(value);
    else v.writeUInt16LE(value);
  } else {
    v = toBuffer(value);
    if (v.length % 2 === 1) v = concat(v, Buffer.from([kind === 'uid' || kind === 'bytes' ? 0 : 0x20]));
  }
  const head = Buffer.alloc(8);
  head.writeUInt16LE(group, 0);
  head.writeUInt16LE(element, 2);
  head.writeUInt32LE(v.length, 4);
  return concat(head, v);
}

/** A command set: the elements of group 0000 preceded by their group length. */
function commandSet(elements: Buffer[]): Buffer {
  const body = concat(...elements);
  return concat(dicomElement(0x0000, 0x0000, body.length, 'ul'), body);
}

/** C-STORE-RQ (command field 0x0001) for one instance, with a dataset to follow. */
export function dicomCStoreRq(o: { messageId: number; sopClassUid: string; sopInstanceUid: string }): Buffer {
  return commandSet([
    dicomElement(0x0000, 0x0002, o.sopClassUid, 'uid'),
    dicomElement(0x0000, 0x0100, 0x0001, 'us'),
    dicomElement(0x0000, 0x0110, o.messageId, 'us'),
    dicomElement(0x0000, 0x0700, 0x0000, 'us'),
    dicomElement(0x0000, 0x0800, 0x0000, 'us'),
    dicomElement(0x0000, 0x1000, o.sopInstanceUid, 'uid'),
  ]);
}

/** C-STORE-RSP (command field 0x8001), no dataset, status 0x0000 (success) unless given. */
export function dicomCStoreRsp(o: { messageId: number; sopClassUid: string; sopInstanceUid: string; status?: number }): Buffer {
  return commandSet([
    dicomElement(0x0000, 0x0002, o.sopClassUid, 'uid'),
    dicomElement(0x0000, 0x0100, 0x8001, 'us'),
    dicomElement(0x0000, 0x0120, o.messageId, 'us'),
    dicomElement(0x0000, 0x0800, 0x0101, 'us'),
    dicomElement(0x0000, 0x0900, o.status ?? 0, 'us'),
    dicomElement(0x0000, 0x1000, o.sopInstanceUid, 'uid'),
  ]);
}
