/**
 * DICOM upper layer PDUs (PS3.8 section 9.3), read from bytes. Everything here is bounds-checked
 * and reports what it could not read (a length that lies, a PDU cut short) as part of the
 * result; nothing throws.
 *
 * PDU: type u8, reserved u8, length u32 BE (the bytes after the length field), then the body.
 * A-ASSOCIATE-RQ/AC body: protocol version u16, reserved u16, called AE title (16), calling AE
 * title (16), 32 reserved, then items: type u8, reserved u8, length u16 BE, value.
 */

export const PDU = {
  associateRq: 0x01,
  associateAc: 0x02,
  associateRj: 0x03,
  pData: 0x04,
  releaseRq: 0x05,
  releaseRp: 0x06,
  abort: 0x07,
} as const;

export const ITEM = {
  applicationContext: 0x10,
  presentationContextRq: 0x20,
  presentationContextAc: 0x21,
  abstractSyntax: 0x30,
  transferSyntax: 0x40,
  userInformation: 0x50,
  maxLength: 0x51,
  implementationClassUid: 0x52,
  implementationVersion: 0x55,
} as const;

export const PDU_HEADER_LENGTH = 6;
/** Protocol version, reserved, two AE titles and 32 reserved bytes before the first item. */
export const ASSOCIATE_FIXED_LENGTH = 68;
/** A-ASSOCIATE-RJ, A-RELEASE-RQ/RP and A-ABORT carry 4 bytes. */
export const SHORT_PDU_LENGTH = 4;
/** Presentation data value header: item length u32, context id, message control header. */
export const PDV_HEADER_LENGTH = 6;
/** The longest A-ASSOCIATE-RQ/AC taken as one: real ones are a few KiB (128 contexts at most). */
export const MAX_ASSOCIATE_LENGTH = 1 << 20;
/** The longest P-DATA-TF taken as one: peers negotiate 16 KiB to a few MiB. */
export const MAX_PDATA_LENGTH = 64 << 20;
const AE_TITLE_LENGTH = 16;
const MAX_UID_LENGTH = 64;

export function u32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

function u16(b: Uint8Array, at: number): number {
  return (b[at] << 8) | b[at + 1];
}

/** Why a PDU header cannot frame a PDU, or 'ok'. */
export type HeaderProblem = 'ok' | 'unknown_pdu_type' | 'bad_reserved' | 'pdu_too_short' | 'pdu_length_too_large';

/**
 * Checks a complete header. 'pdu_too_short' (a length shorter than the fixed fields) still
 * frames the PDU: its length says where the next one starts. The others do not.
 */
export function checkHeader(type: number, reserved: number, length: number): HeaderProblem {
  if (type < PDU.associateRq || type > PDU.abort) return 'unknown_pdu_type';
  if (reserved !== 0) return 'bad_reserved';
  if (type === PDU.associateRq || type === PDU.associateAc) {
    if (length > MAX_ASSOCIATE_LENGTH) return 'pdu_length_too_large';
    return length < ASSOCIATE_FIXED_LENGTH ? 'pdu_too_short' : 'ok';
  }
  if (type === PDU.pData) {
    if (length > MAX_PDATA_LENGTH) return 'pdu_length_too_large';
    return length < PDV_HEADER_LENGTH ? 'pdu_too_short' : 'ok';
  }
  // The 4-byte PDUs: a little slack frames a sloppy peer, a big length is not one of these.
  if (length > 64) return 'pdu_length_too_large';
  return length < SHORT_PDU_LENGTH ? 'pdu_too_short' : 'ok';
}

function printableOrPad(b: number): boolean {
  return b === 0 || (b >= 0x20 && b < 0x7f);
}

/**
 * Whether byte `i` (the last one added) of a flow's first bytes can continue the opening of a
 * DICOM flow: an A-ASSOCIATE-RQ (a new association), or, for a flow seen mid-stream, an
 * A-ASSOCIATE-AC or a P-DATA-TF with a plausible first PDV. Bytes past the 12th are not judged.
 */
export function openingByteOk(h: Uint8Array, i: number): boolean {
  const type = h[0];
  const associate = type === PDU.associateRq || type === PDU.associateAc;
  switch (i) {
    case 0:
      return associate || type === PDU.pData;
    case 1:
      return h[1] === 0;
    case 5:
      return checkHeader(type, 0, u32(h, 2)) === 'ok';
    case 7:
      // Protocol version: bit 0 is version 1, the only one there is.
      return !associate || (h[7] & 1) === 1;
    case 9: {
      if (associate) return true;
      const pdv = u32(h, 6);
      return pdv >= 2 && pdv <= u32(h, 2) - 4;
    }
    case 10:
      // Presentation context ids are odd; an AE title is printable.
      return associate ? printableOrPad(h[10]) : (h[10] & 1) === 1;
    case 11:
      return associate ? printableOrPad(h[11]) : h[11] <= 3;
    default:
      return true;
  }
}

export const OPENING_LENGTH = 12;

/**
 * Text of a fixed field: printable ASCII, spaces and NUL padding trimmed at both ends, any other
 * byte shown as '?', at most `cap` characters.
 */
export function fieldText(b: Uint8Array, start: number, end: number, cap: number): string {
  while (start < end && (b[start] === 0x20 || b[start] === 0)) start++;
  while (end > start && (b[end - 1] === 0x20 || b[end - 1] === 0)) end--;
  let s = '';
  for (let i = start; i < end && s.length < cap; i++) {
    const c = b[i];
    s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '?';
  }
  return s;
}

export interface PresentationContext {
  readonly id: number;
  /** A-ASSOCIATE-AC only: 0 acceptance, 1 user rejection, 2 no reason, 3 abstract syntax, 4 transfer syntaxes not supported. */
  readonly result: number;
  /** A-ASSOCIATE-RQ only. */
  readonly abstractSyntax: string | null;
  readonly transferSyntaxes: string[];
}

export interface AssociateParse {
  /** The fixed fields are all there: protocol version 1, printable AE titles. */
  readonly sound: boolean;
  readonly calledAeTitle: string;
  readonly callingAeTitle: string;
  /** The first item is an application context, as the standard orders them. */
  readonly startsWithApplicationContext: boolean;
  readonly applicationContext: string | null;
  readonly contexts: PresentationContext[];
  readonly maxPduLength: number | null;
  readonly implementationClassUid: string | null;
  readonly implementationVersion: string | null;
  /** Some item or sub-item claimed more bytes than its PDU (or item) holds. */
  readonly badItemLength: boolean;
  /** Items were not read to the end: a length lie, or the PDU was bigger than what was kept. */
  readonly truncated: boolean;
}

/** Most presentation contexts an association can have (ids are odd bytes). */
const MAX_CONTEXTS = 128;
const MAX_TRANSFER_SYNTAXES = 32;

/**
 * Reads an A-ASSOCIATE-RQ or -AC body. `body` holds the first bytes of the body (all of it,
 * unless it was bigger than what the caller keeps); `declared` is the length the header gave.
 */
export function parseAssociate(type: number, body: Uint8Array, declared: number): AssociateParse {
  const kept = Math.min(body.length, declared);
  const result = {
    sound: false,
    calledAeTitle: '',
    callingAeTitle: '',
    startsWithApplicationContext: false,
    applicationContext: null as string | null,
    contexts: [] as PresentationContext[],
    maxPduLength: null as number | null,
    implementationClassUid: null as string | null,
    implementationVersion: null as string | null,
    badItemLength: false,
    truncated: declared > kept,
  };
  if (kept < ASSOCIATE_FIXED_LENGTH) {
    result.truncated = true;
    return result;
  }
  let printable = true;
  for (let i = 4; i < 4 + 2 * AE_TITLE_LENGTH; i++) if (!printableOrPad(body[i])) printable = false;
  result.sound = (body[1] & 1) === 1 && printable;
  result.calledAeTitle = fieldText(body, 4, 4 + AE_TITLE_LENGTH, AE_TITLE_LENGTH);
  result.callingAeTitle = fieldText(body, 4 + AE_TITLE_LENGTH, 4 + 2 * AE_TITLE_LENGTH, AE_TITLE_LENGTH);

  let at = ASSOCIATE_FIXED_LENGTH;
  let first = true;
  while (at < declared) {
    if (at + 4 > declared) {
      result.badItemLength = true;
      result.truncated = true;
      break;
    }
    if (at + 4 > kept) {
      result.truncated = true;
      break;
    }
    const itemType = body[at];
    const length = u16(body, at + 2);
    const start = at + 4;
    const end = start + length;
    if (end > declared) {
      result.badItemLength = true;
      result.truncated = true;
      break;
    }
    if (end > kept) {
      result.truncated = true;
      break;
    }
    if (first) result.startsWithApplicationContext = itemType === ITEM.applicationContext;
    first = false;
    if (itemType === ITEM.applicationContext) {
      result.applicationContext ??= fieldText(body, start, end, MAX_UID_LENGTH);
    } else if (itemType === (type === PDU.associateRq ? ITEM.presentationContextRq : ITEM.presentationContextAc)) {
      if (result.contexts.length < MAX_CONTEXTS) {
        const context = readContext(body, start, end);
        if (context === null) result.badItemLength = true;
        else {
          result.contexts.push(context.context);
          if (context.badSubItem) result.badItemLength = true;
        }
      }
    } else if (itemType === ITEM.userInformation) {
      if (!readUserInformation(body, start, end, result)) result.badItemLength = true;
    }
    at = end;
  }
  return result;
}

/** Walks the sub-items of [start, end); false when one claims more than the item holds. */
function subItems(b: Uint8Array, start: number, end: number, each: (type: number, start: number, end: number) => void): boolean {
  let at = start;
  while (at < end) {
    if (at + 4 > end) return false;
    const subEnd = at + 4 + u16(b, at + 2);
    if (subEnd > end) return false;
    each(b[at], at + 4, subEnd);
    at = subEnd;
  }
  return true;
}

function readContext(b: Uint8Array, start: number, end: number): { context: PresentationContext; badSubItem: boolean } | null {
  if (end - start < 4) return null;
  let abstractSyntax: string | null = null;
  const transferSyntaxes: string[] = [];
  const whole = subItems(b, start + 4, end, (type, s, e) => {
    if (type === ITEM.abstractSyntax) abstractSyntax ??= fieldText(b, s, e, MAX_UID_LENGTH);
    else if (type === ITEM.transferSyntax && transferSyntaxes.length < MAX_TRANSFER_SYNTAXES) transferSyntaxes.push(fieldText(b, s, e, MAX_UID_LENGTH));
  });
  return { context: { id: b[start], result: b[start + 2], abstractSyntax, transferSyntaxes }, badSubItem: !whole };
}

function readUserInformation(
  b: Uint8Array,
  start: number,
  end: number,
  out: { maxPduLength: number | null; implementationClassUid: string | null; implementationVersion: string | null },
): boolean {
  return subItems(b, start, end, (type, s, e) => {
    if (type === ITEM.maxLength && e - s === 4) out.maxPduLength = u32(b, s);
    else if (type === ITEM.implementationClassUid) out.implementationClassUid = fieldText(b, s, e, MAX_UID_LENGTH);
    else if (type === ITEM.implementationVersion) out.implementationVersion = fieldText(b, s, e, AE_TITLE_LENGTH);
  });
}

const REJECT_RESULTS = ['', 'rejected-permanent', 'rejected-transient'];
const REJECT_SOURCES = ['', 'service-user', 'service-provider-acse', 'service-provider-presentation'];
/** Reasons by source (PS3.8 table 9-21). */
const REJECT_REASONS: Record<number, readonly string[]> = {
  1: ['', 'no-reason-given', 'application-context-name-not-supported', 'calling-ae-title-not-recognized', '', '', '', 'called-ae-title-not-recognized'],
  2: ['', 'no-reason-given', 'protocol-version-not-supported'],
  3: ['', 'temporary-congestion', 'local-limit-exceeded'],
};

export interface Rejection {
  readonly result: string;
  readonly source: string;
  readonly reason: string;
}

/** An A-ASSOCIATE-RJ body (reserved, result, source, reason) in words; unknown values as 'result-N' and so on. */
export function parseReject(body: Uint8Array): Rejection {
  const result = body[1];
  const source = body[2];
  const reason = body[3];
  return {
    result: REJECT_RESULTS[result] || `result-${result}`,
    source: REJECT_SOURCES[source] || `source-${source}`,
    reason: REJECT_REASONS[source]?.[reason] || `reason-${reason}`,
  };
}

const ABORT_REASONS = [
  'reason-not-specified',
  'unrecognized-pdu',
  'unexpected-pdu',
  '',
  'unrecognized-pdu-parameter',
  'unexpected-pdu-parameter',
  'invalid-pdu-parameter-value',
];

export interface Abort {
  readonly source: string;
  /** Only the service provider gives a reason. */
  readonly reason: string | null;
}

/** An A-ABORT body (reserved, reserved, source, reason) in words. */
export function parseAbort(body: Uint8Array): Abort {
  const source = body[2];
  const reason = body[3];
  if (source === 0) return { source: 'service-user', reason: null };
  if (source === 2) return { source: 'service-provider', reason: ABORT_REASONS[reason] || `reason-${reason}` };
  return { source: `source-${source}`, reason: null };
}

/** The A-ASSOCIATE-AC presentation context result that accepts the context (PS3.8 table 9-18). */
export const CONTEXT_ACCEPTED = 0;
