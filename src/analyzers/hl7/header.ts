/**
 * HL7 v2 header segments (MSH, FHS, BHS) and the code checks recognition relies on: what makes
 * a segment a plausible message header, and the limits on what is kept of it.
 */


export const DEFAULT_MAX_MESSAGE_BYTES = 1 << 20;
/** Bytes of a header segment kept for parsing; MSH-1..MSH-12 fit with room to spare. */
export const HEADER_CAP = 4096;
/** Segment ids listed per message; identitySegments still sees every segment. */
export const MAX_LISTED_SEGMENTS = 1024;
const MAX_FIELD_CHARS = 128;
/** Before a match, bytes a direction may pass over while resynchronising after a gap. */
export const PROBE_SKIP_LIMIT = 64 * 1024;
export const MAX_PENDING = 4;
export const MIN_MESSAGE_BYTES = 64;

/**
 * Segments that identify the patient: demographics (PID, PD1), next of kin (NK1), visit (PV1,
 * PV2), merged identities (MRG), insurance (IN1-IN3), guarantor (GT1) and accident (ACC).
 * Clinical content (DG1, OBX, ...) is protected health information too but names no one.
 */
export const IDENTITY_SEGMENTS: ReadonlySet<string> = new Set([
  'PID', 'PD1', 'NK1', 'PV1', 'PV2', 'MRG', 'IN1', 'IN2', 'IN3', 'GT1', 'ACC',
]);

export const VT = 0x0b;
export const FS = 0x1c;
export const CR = 0x0d;
export const LF = 0x0a;

/** Segment ids that begin a unit, and so may begin a stream or an MLLP frame. */
export const UNIT_STARTS = ['MSH', 'FHS', 'BHS', 'BTS', 'FTS'];

export interface Hl7Header {
  /** 'MSH', 'FHS' or 'BHS'. */
  readonly segment: string;
  readonly fieldSeparator: string;
  readonly encodingCharacters: string;
  /** Field 3 and 4 of the segment, whole. */
  readonly sendingApplication: string;
  readonly sendingFacility: string;
  /** MSH-9.1, MSH-9.2, MSH-9.3 ('' for FHS/BHS). */
  readonly messageType: string;
  readonly triggerEvent: string;
  readonly messageStructure: string;
  /** MSH-10, or FHS-11/BHS-11. */
  readonly controlId: string;
  /** MSH-12.1 ('' for FHS/BHS). */
  readonly version: string;
}

/** A printable ASCII character that is neither a letter nor a digit nor a space. */
export function isSeparatorByte(b: number): boolean {
  return b > 0x20 && b < 0x7f && !isUpper(b) && !isDigit(b) && !(b >= 0x61 && b <= 0x7a);
}

export function isUpper(b: number): boolean {
  return b >= 0x41 && b <= 0x5a;
}

export function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}

export function isMessageTypeCode(s: string): boolean {
  return /^[A-Z]{3}$/.test(s);
}

export function isTriggerEventCode(s: string): boolean {
  return s === '' || /^[A-Z0-9]{3}$/.test(s);
}

export function isHl7Version(s: string): boolean {
  return /^2\.\d{1,2}(\.\d{1,2})?$/.test(s);
}

function printable(s: string): string {
  const cut = s.length > MAX_FIELD_CHARS ? s.slice(0, MAX_FIELD_CHARS) : s;
  return cut.replace(/[^\x20-\x7e]/g, '?');
}

/**
 * Parses an MSH, FHS or BHS segment (its bytes from the segment id on, without the terminator;
 * a truncated segment parses if the needed fields are there). Undefined when it is not a
 * plausible header. Field numbers follow the standard: field 1 IS the separator, so after
 * splitting on it, field n sits at index n - 1.
 */
export function parseHl7Header(segment: Uint8Array): Hl7Header | undefined {
  if (segment.length < 9) return undefined;
  const text = Buffer.from(segment.buffer, segment.byteOffset, segment.length).toString('latin1');
  const id = text.slice(0, 3);
  if (id !== 'MSH' && id !== 'FHS' && id !== 'BHS') return undefined;
  if (!isSeparatorByte(segment[3])) return undefined;
  const separator = text[3];
  const fields = text.split(separator);
  const field = (n: number): string => fields[n - 1] ?? '';
  const encoding = field(2);
  // The encoding characters are known once the separator after them was seen.
  if (fields.length < 3 || encoding.length < 2 || encoding.length > 5) return undefined;
  for (let i = 0; i < encoding.length; i++) {
    const c = encoding.charCodeAt(i);
    if (!isSeparatorByte(c) || encoding.indexOf(encoding[i]) !== i) return undefined;
  }
  const component = encoding[0];
  if (id !== 'MSH') {
    return {
      segment: id,
      fieldSeparator: separator,
      encodingCharacters: encoding,
      sendingApplication: printable(field(3)),
      sendingFacility: printable(field(4)),
      messageType: '',
      triggerEvent: '',
      messageStructure: '',
      controlId: printable(field(11)),
      version: '',
    };
  }
  // MSH, its separator and its encoding characters make the header: a sender that breaks the
  // standard after them (or a capture that lost the rest) still sends HL7. MSH-9 and MSH-12 are
  // reported only when they have the standard's shape.
  const type = field(9).split(component);
  const typeOk = isMessageTypeCode(type[0]) && isTriggerEventCode(type[1] ?? '');
  const messageType = typeOk ? type[0] : '';
  const triggerEvent = typeOk ? (type[1] ?? '') : '';
  const versionField = field(12).split(component)[0];
  const version = isHl7Version(versionField) ? versionField : '';
  return {
    segment: id,
    fieldSeparator: separator,
    encodingCharacters: encoding,
    sendingApplication: printable(field(3)),
    sendingFacility: printable(field(4)),
    messageType,
    triggerEvent,
    messageStructure: typeOk ? printable(type[2] ?? '') : '',
    controlId: printable(field(10)),
    version,
  };
}

const idCache = new Map<number, string>();

export function segmentId(a: number, b: number, c: number): string {
  const key = (a << 16) | (b << 8) | c;
  let id = idCache.get(key);
  if (id === undefined) {
    id = String.fromCharCode(a, b, c);
    // Ids are validated [A-Z][A-Z0-9]{2}, so the cache cannot outgrow 26 * 36 * 36 entries.
    idCache.set(key, id);
  }
  return id;
}
