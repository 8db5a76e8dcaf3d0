import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Direction, EvidenceMode } from '../../src/analyzers/analyzer.js';
import { cms8000Analyzer } from '../../src/analyzers/cms8000/analyzer.js';
import { startAnalyzer, type AnalyzerRun } from '../support/analyzer-run.js';

const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

function concat(...parts: ArrayLike<number>[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** u16le length (2 + body), 0x05, type, body. */
function block(type: number, body: ArrayLike<number> = []): Uint8Array {
  const length = 2 + body.length;
  return concat([length & 0xff, length >> 8, 0x05, type], body);
}

const bed = (n: number): Uint8Array => block(0x45, [0, 0, n, 0xff]);
const sync = (): Uint8Array => block(0x47);
/** Samples avoid 0x05 so that no header can be found inside them by accident. */
function telemetry(lead: number, sampleCount: number): Uint8Array {
  const samples = Array.from({ length: sampleCount }, (_, k) => 0x40 + ((k * 7) % 0x30));
  return block(0x46, [0, 0, lead, 0, ...samples]);
}

function put(body: Uint8Array, offset: number, text: string): void {
  body.set(ascii(text), offset);
}

/** A patient body laid out at the published offsets, with clearly fake data. */
function patientBody(): Uint8Array {
  const body = new Uint8Array(0xad + 3);
  put(body, 0x00, 'ICU WEST');
  body[0x22] = 7;
  put(body, 0x23, 'DOE JANE');
  put(body, 0x43, 'MRN123456');
  put(body, 0x63, '2025');
  put(body, 0x68, '01');
  put(body, 0x6b, '30');
  body.set([165, 0], 0x74);
  body.set([0x3e, 0x01], 0x76); // 318
  put(body, 0x7c, '1970');
  put(body, 0x81, '4');
  put(body, 0x84, '5');
  body[0x8c] = 2;
  put(body, 0x8d, 'DR SMITH TEST');
  return body;
}
const patient = (): Uint8Array => block(0x3e, patientBody());
const PATIENT_STRINGS = ['DOE JANE', 'MRN123456', 'DR SMITH TEST', 'ICU WEST', '1970', '2025'];

/** Bed, patient, then a telemetry run over the four leads with syncs, as a monitor sends it. */
function session(): Uint8Array {
  return concat(
    bed(7),
    patient(),
    telemetry(0x14, 250),
    telemetry(0x15, 60),
    sync(),
    telemetry(0x14, 250),
    telemetry(0x16, 12),
    telemetry(0x17, 4),
    sync(),
  );
}
const SESSION_COUNTS = { '0x3E': 1, '0x45': 1, '0x46': 5, '0x47': 2 };

type Run = AnalyzerRun;

function start(evidence: EvidenceMode = 'redacted'): Run {
  return startAnalyzer(cms8000Analyzer, { clientPort: 40512, serverPort: 515 }, evidence);
}

function feed(bytes: Uint8Array, chunk = bytes.length, evidence: EvidenceMode = 'redacted', dir: Direction = 0): Run {
  const run = start(evidence);
  for (let at = 0; at < bytes.length; at += chunk) run.analyzer.data(dir, bytes.subarray(at, at + chunk));
  run.analyzer.end();
  return run;
}

describe('cms8000 analyzer', () => {
  it('declares itself as a TCP analyzer for cms8000', () => {
    expect(cms8000Analyzer.proto).toBe('cms8000');
    expect(cms8000Analyzer.transports).toEqual(['tcp']);
  });

  it('detects a monitor session and summarises its blocks', () => {
    const { analyzer, events } = feed(session());
    expect(analyzer.verdict).toBe('match');
    expect(events).toEqual([
      { type: 'cms8000.detected', proto: 'cms8000', dir: 0, blockTypes: [0x3e, 0x45, 0x46] },
      { type: 'cms8000.patient', proto: 'cms8000', dir: 0, length: 0xad + 3 },
      {
        type: 'cms8000.summary',
        proto: 'cms8000',
        dir: 0,
        blockCounts: SESSION_COUNTS,
        patientBlocks: 1,
        malformedBlocks: 0,
        skippedBytes: 0,
      },
    ]);
  });

  it('matches on the third consecutive block, not before', () => {
    const { analyzer, events } = start();
    analyzer.data(0, concat(bed(7), sync()));
    expect(analyzer.verdict).toBe('probing');
    analyzer.data(0, telemetry(0x14, 20));
    expect(analyzer.verdict).toBe('match');
    expect(events.map((e) => e.type)).toEqual(['cms8000.detected']);
  });

  it('gives the same events when fed one byte per call', () => {
    expect(feed(session(), 1).events).toEqual(feed(session()).events);
    expect(feed(session(), 1, 'full').events).toEqual(feed(session(), Infinity, 'full').events);
  });

  it('does not match one or two lucky blocks followed by garbage', () => {
    const garbage = Uint8Array.from(ascii('this is not a block stream at all'));
    for (const opening of [bed(3), concat(bed(3), sync())]) {
      const { analyzer, events } = feed(concat(opening, garbage));
      expect(analyzer.verdict).toBe('reject');
      expect(events).toEqual([]);
    }
  });

  it('rejects a bed or telemetry block whose fixed head is wrong', () => {
    expect(feed(concat(block(0x45, [0, 0, 3, 0x00]), sync(), sync())).analyzer.verdict).toBe('reject');
    expect(feed(concat(block(0x46, [0, 0, 0x30, 0, 1, 2]), sync(), sync())).analyzer.verdict).toBe('reject');
  });

  it('rejects other protocols on the first call', () => {
    const others = {
      http: ascii('GET /index.html HTTP/1.1\r\nHost: 202.114.4.119\r\n\r\n'),
      hl7: [0x0b, ...ascii('MSH|^~\\&|MONITOR|WARD|CENTRAL|HOSP|20250130||ORU^R01|1|P|2.3\r'), 0x1c, 0x0d],
      lpd: ascii('\x02lp\n\x0223 cfA123wardpc\n'),
      garbage: [0xff, 0xfe, 0x00, 0x13, 0x37, 0x42, 0x99, 0x01],
      zeros: [0, 0, 0, 0, 0, 0],
    };
    for (const [name, bytes] of Object.entries(others)) {
      const { analyzer, events } = start();
      analyzer.data(0, Uint8Array.from(bytes));
      expect(analyzer.verdict, name).toBe('reject');
      expect(events, name).toEqual([]);
    }
  });

  it('judges each direction on its own: a server that answers with something other than blocks ends only its own', () => {
    const { analyzer, events } = start();
    analyzer.data(0, bed(7));
    analyzer.data(1, Uint8Array.from(ascii('+OK ready\r\n')));
    expect(analyzer.verdict).toBe('probing');
    analyzer.data(0, concat(sync(), telemetry(0x14, 20)));
    expect(analyzer.verdict).toBe('match');
    expect(events[0]).toMatchObject({ type: 'cms8000.detected', blockTypes: [0x45, 0x46, 0x47] });
  });

  it('rejects a flow whose client bytes are not blocks, even after the server spoke', () => {
    const { analyzer } = start();
    analyzer.data(1, Uint8Array.from(ascii('+OK ready\r\n')));
    analyzer.data(0, Uint8Array.from(ascii('USER x\r\n')));
    expect(analyzer.verdict).toBe('reject');
  });

  it('counts blocks from both directions', () => {
    const { analyzer, events } = start();
    analyzer.data(0, concat(bed(7), patient()));
    analyzer.data(1, concat(sync(), sync()));
    analyzer.data(0, telemetry(0x15, 30));
    analyzer.data(1, block(0x49, ascii('bed offline')));
    analyzer.end();
    expect(analyzer.verdict).toBe('match');
    const summary = events.find((e) => e.type === 'cms8000.summary');
    expect(summary).toMatchObject({ blockCounts: { '0x3E': 1, '0x45': 1, '0x46': 1, '0x47': 2, '0x49': 1 } });
  });

  it('resynchronises after a gap that crosses block boundaries', () => {
    const before = concat(bed(7), sync(), telemetry(0x14, 40));
    const lostAndTail = telemetry(0x15, 80); // its first 30 bytes are lost, the rest arrives
    const tail = lostAndTail.subarray(30);
    const after = concat(patient(), telemetry(0x16, 10), sync());
    const { analyzer, events } = start();
    analyzer.data(0, before);
    analyzer.gap(0, 30);
    analyzer.data(0, tail);
    analyzer.data(0, after);
    analyzer.end();
    expect(analyzer.verdict).toBe('match');
    expect(events.filter((e) => e.type === 'cms8000.patient')).toHaveLength(1);
    expect(events.at(-1)).toEqual({
      type: 'cms8000.summary',
      proto: 'cms8000',
      dir: 0,
      blockCounts: { '0x3E': 1, '0x45': 1, '0x46': 2, '0x47': 2 },
      patientBlocks: 1,
      malformedBlocks: 0,
      skippedBytes: tail.length,
    });
  });

  it('keeps framing through a gap inside a body and drops only the damaged fields', () => {
    const body = patient();
    const { analyzer, events } = start('full');
    analyzer.data(0, concat(bed(7), sync(), sync()));
    analyzer.data(0, body.subarray(0, 20));
    analyzer.gap(0, 10);
    analyzer.data(0, body.subarray(30));
    analyzer.data(0, sync());
    analyzer.end();
    const patientEvent = events.find((e) => e.type === 'cms8000.patient');
    expect(patientEvent).toEqual({ type: 'cms8000.patient', proto: 'cms8000', dir: 0, length: 0xad + 3 });
    expect(events.at(-1)).toMatchObject({ blockCounts: { '0x3E': 1, '0x45': 1, '0x47': 3 }, skippedBytes: 0 });
  });

  it('detects a stream picked up mid-block after an initial gap', () => {
    const tail = telemetry(0x14, 100).subarray(50);
    const { analyzer, events } = start();
    analyzer.gap(0, 1000);
    analyzer.data(0, concat(tail, bed(7), telemetry(0x15, 20), sync()));
    expect(analyzer.verdict).toBe('match');
    expect(events[0]).toEqual({ type: 'cms8000.detected', proto: 'cms8000', dir: 0, blockTypes: [0x45, 0x46, 0x47], incomplete: ['gap'] });
  });

  it('gives up scanning for a header before a match after a bounded distance', () => {
    const { analyzer } = start();
    analyzer.gap(0, 100);
    analyzer.data(0, new Uint8Array(5000).fill(0x41));
    expect(analyzer.verdict).toBe('reject');
  });

  it('treats a length above 16 KiB as malformed: rejected before a match, skipped after', () => {
    const oversize = [0x00, 0x80, 0x05, 0x46, 0, 0, 0x14, 0];
    expect(feed(concat(oversize, sync(), sync())).analyzer.verdict).toBe('reject');

    const largest = telemetry(0x14, 0x4000 - 6);
    const { analyzer, events } = feed(concat(bed(7), sync(), largest, oversize, sync(), patient()));
    expect(analyzer.verdict).toBe('match');
    expect(events.filter((e) => e.type === 'cms8000.patient')).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({
      blockCounts: { '0x3E': 1, '0x45': 1, '0x46': 1, '0x47': 2 },
      malformedBlocks: 1,
      skippedBytes: oversize.length,
    });
  });

  it('counts a wrong telemetry head after the match without losing framing', () => {
    const bad = block(0x46, [0, 0, 0x99, 0, 1, 2, 3]);
    const { events } = feed(concat(bed(7), sync(), sync(), bad, patient()));
    expect(events.at(-1)).toMatchObject({
      blockCounts: { '0x3E': 1, '0x45': 1, '0x46': 1, '0x47': 2 },
      malformedBlocks: 1,
      skippedBytes: 0,
    });
  });

  it('keeps patient data out of redacted events', () => {
    const { events } = feed(session(), 7, 'redacted');
    const json = JSON.stringify(events);
    for (const s of PATIENT_STRINGS) expect(json).not.toContain(s);
    expect(events.some((e) => e.type === 'cms8000.patient')).toBe(true);
  });

  it('decodes the patient fields in full evidence mode', () => {
    const { events } = feed(session(), 7, 'full');
    const patientEvent = events.find((e) => e.type === 'cms8000.patient');
    expect(patientEvent).toEqual({
      type: 'cms8000.patient',
      proto: 'cms8000',
      dir: 0,
      length: 0xad + 3,
      phi: {
        department: 'ICU WEST',
        bed: 7,
        name: 'DOE JANE',
        patientNumber: 'MRN123456',
        admitDate: '2025-01-30',
        heightCm: 165,
        weight: 318,
        birthDate: '1970-04-05',
        bloodType: 2,
        doctor: 'DR SMITH TEST',
      },
    });
    const json = JSON.stringify(events);
    for (const s of ['DOE JANE', 'MRN123456', 'DR SMITH TEST']) expect(json).toContain(s);
  });

  it('carries only event types in the none evidence mode', () => {
    const { events } = feed(session(), Infinity, 'none');
    expect(events).toEqual([
      { type: 'cms8000.detected', proto: 'cms8000', dir: 0 },
      { type: 'cms8000.patient', proto: 'cms8000', dir: 0 },
      { type: 'cms8000.summary', proto: 'cms8000', dir: 0 },
    ]);
  });

  it('emits nothing at the end of a flow that never matched', () => {
    expect(feed(concat(bed(7), sync())).events).toEqual([]);
  });

  it('never throws on random bytes, random splits and gaps', () => {
    const step = fc.oneof(
      fc.record({ dir: fc.constantFrom<Direction>(0, 1), bytes: fc.uint8Array({ maxLength: 300 }) }),
      fc.record({ dir: fc.constantFrom<Direction>(0, 1), gap: fc.integer({ min: 0, max: 5000 }) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 30 }), fc.constantFrom<EvidenceMode>('none', 'redacted', 'full'), (steps, evidence) => {
        const { analyzer } = start(evidence);
        for (const s of steps) {
          if (analyzer.verdict === 'reject') break;
          if ('gap' in s) analyzer.gap(s.dir, s.gap);
          else analyzer.data(s.dir, s.bytes);
        }
        analyzer.end();
      }),
    );
  });

  it('never throws on random bytes behind a valid opening', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.integer({ min: 1, max: 64 }), (noise, chunk) => {
        const { analyzer } = feed(concat(bed(1), sync(), sync(), noise, patient()), chunk, 'full');
        expect(analyzer.verdict).toBe('match');
      }),
    );
  });

  it('gives the same events however a valid stream is split', () => {
    const stream = concat(session(), patient(), telemetry(0x14, 300), sync());
    const whole = feed(stream, Infinity, 'full').events;
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 40 }), (cuts) => {
        const points = [0, ...cuts.sort((a, b) => a - b), stream.length];
        const run = start('full');
        for (let k = 1; k < points.length; k++) run.analyzer.data(0, stream.subarray(points[k - 1], points[k]));
        run.analyzer.end();
        expect(run.events).toEqual(whole);
      }),
    );
  });
});

describe('cms8000 analyzer on a direction picked up mid-stream (gap of length 0 before any data)', () => {
  it('scans past the rest of a patient block it did not see begin and detects the run after it, marked midstream', () => {
    const { analyzer, events } = start();
    analyzer.gap(0, 0);
    analyzer.data(0, concat(patient().subarray(60), bed(7), sync(), telemetry(0x14, 40)));
    expect(analyzer.verdict).toBe('match');
    expect(events[0]).toEqual({ type: 'cms8000.detected', proto: 'cms8000', dir: 0, blockTypes: [0x45, 0x46, 0x47], incomplete: ['midstream'] });
  });

  it('is glanced at mid-stream only when a block header of a known type is somewhere in the bytes', () => {
    expect(cms8000Analyzer.mayAccept!(concat(patient().subarray(60), sync()), 'tcp', true)).toBe(true);
    expect(cms8000Analyzer.mayAccept!(patient().subarray(60, 150), 'tcp', true)).toBe(false);
  });
});

describe('cms8000 analyzer: blocks nobody documented', () => {
  it('follows the framing through a block of an unknown type, which neither counts in nor breaks the run', () => {
    const { analyzer, events } = start();
    analyzer.data(0, concat(bed(7), block(0x50, [1, 2, 3, 4, 5]), sync()));
    expect(analyzer.verdict).toBe('probing');
    analyzer.data(0, telemetry(0x14, 20));
    expect(analyzer.verdict).toBe('match');
    expect(events[0]).toMatchObject({ type: 'cms8000.detected', blockTypes: [0x45, 0x46, 0x47, 0x50] });
  });

  it('does not resynchronise on a header of an unknown type', () => {
    const { analyzer } = start();
    analyzer.gap(0, 0);
    analyzer.data(0, block(0x50, new Array(40).fill(0)));
    expect(analyzer.verdict).toBe('probing');
  });
});
