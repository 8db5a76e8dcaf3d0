/**
 * HL7 v2 byte fixtures. All patient data is fake: DOE^JANE, MRN123456, born 19700101.
 */
import type { AnalyzerContext, Direction, EvidenceMode } from '../../src/analyzers/analyzer.js';
import type { AppEvent, Hl7MessageEvent } from '../../src/analyzers/events.js';
import { Hl7Analyzer, type Hl7Options } from '../../src/analyzers/hl7/analyzer.js';

/** Strings of the fake patient that must never appear outside the full evidence mode. */
export const PATIENT_STRINGS = [
  'DOE',
  'JANE',
  'MRN123456',
  '19700101',
  '42 ELM ST',
  'SPRINGFIELD',
  'ROE^RICHARD',
  'Heart rate',
  '8867-4',
  'SpO2',
];

/** Segments of an ORU^R01 observation result, without terminators. */
export const ORU_SEGMENTS = [
  'MSH|^~\\&|MONITOR|WARD3|EHR|GENHOSP|20240315103000||ORU^R01|MSG00001|P|2.5.1',
  'PID|1||MRN123456^^^GENHOSP^MR||DOE^JANE||19700101|F|||42 ELM ST^^SPRINGFIELD^IL^62701',
  'PV1|1|I|ICU^101^A|||||1234^ROE^RICHARD',
  'OBR|1|ORD123|FIL456|MON^Vital signs|||20240315102500',
  'OBX|1|NM|8867-4^Heart rate^LN||72|/min|60-100|N|||F',
  'OBX|2|NM|2708-6^SpO2^LN||97|%|95-100|N|||F',
];

export const ORU_IDS = ['MSH', 'PID', 'PV1', 'OBR', 'OBX', 'OBX'];

export const ACK_SEGMENTS = [
  'MSH|^~\\&|EHR|GENHOSP|MONITOR|WARD3|20240315103001||ACK^R01|ACK00001|P|2.5.1',
  'MSA|AA|MSG00001',
];

export const ADT_SEGMENTS = [
  'MSH|^~\\&|REG|GENHOSP|EHR|GENHOSP|20240315090000||ADT^A01^ADT_A01|ADT00007|P|2.4',
  'EVN|A01|20240315090000',
  'PID|1||MRN123456^^^GENHOSP^MR||DOE^JANE||19700101|F',
  'NK1|1|DOE^JOHN|SPO',
  'PV1|1|I|ICU^101^A',
  'IN1|1|PLAN42|INS9',
  'GT1|1||DOE^JANE',
];

export const ADT_IDS = ['MSH', 'EVN', 'PID', 'NK1', 'PV1', 'IN1', 'GT1'];

export type Terminator = '\r' | '\n' | '\r\n';

/** A message text: each segment followed by the terminator. */
export function message(segments: readonly string[], terminator: Terminator = '\r'): string {
  return segments.map((s) => s + terminator).join('');
}

export function bytes(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'latin1'));
}

export function mllp(text: string): Uint8Array {
  return concat(Uint8Array.of(0x0b), bytes(text), Uint8Array.of(0x1c, 0x0d));
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

export const ORU = message(ORU_SEGMENTS);
export const ACK = message(ACK_SEGMENTS);
export const ADT = message(ADT_SEGMENTS);

export interface Harness {
  readonly analyzer: Hl7Analyzer;
  readonly events: Hl7MessageEvent[];
  readonly all: AppEvent[];
}

export function harness(
  evidence: EvidenceMode = 'redacted',
  options: Hl7Options = {},
  transport: 'tcp' | 'udp' = 'tcp',
): Harness {
  const all: AppEvent[] = [];
  const events: Hl7MessageEvent[] = [];
  const ctx: AnalyzerContext = {
    flow: { transport, clientPort: 40000, serverPort: 2575 },
    evidence,
    emit(event) {
      all.push(event);
      if (event.type === 'hl7.message') events.push(event);
    },
    expect() {
      throw new Error('the HL7 analyzer has no expectations to register');
    },
    anomaly() {},
  };
  return { analyzer: new Hl7Analyzer(ctx, options), events, all };
}

/**
 * Feeds `data` to one direction in pieces cut at the given offsets (ascending), then ends the
 * flow. Each piece is a copy that is scribbled over after the call, as a capture buffer would be.
 */
export function feedSplit(h: Harness, dir: Direction, data: Uint8Array, cuts: readonly number[], end = true): void {
  let from = 0;
  for (const cut of [...cuts, data.length]) {
    if (cut > from) {
      const piece = data.slice(from, cut);
      h.analyzer.data(dir, piece);
      piece.fill(0xff);
    }
    from = Math.max(from, cut);
  }
  if (end) h.analyzer.end();
}

/** Every offset: one byte per `data` call. */
export function everyByte(data: Uint8Array): number[] {
  return Array.from({ length: data.length }, (_, i) => i);
}
