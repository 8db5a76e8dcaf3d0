import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Direction, EvidenceMode } from '../../src/analyzers/analyzer.js';
import { lpdAnalyzer } from '../../src/analyzers/lpd/analyzer.js';
import { startAnalyzer, type AnalyzerRun } from '../support/analyzer-run.js';

const bytes = (s: string): Uint8Array => Uint8Array.from([...s].map((c) => c.charCodeAt(0)));

function concat(...parts: ArrayLike<number>[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

type Run = AnalyzerRun;

function start(evidence: EvidenceMode = 'redacted'): Run {
  return startAnalyzer(lpdAnalyzer, { clientPort: 721, serverPort: 515 }, evidence);
}

type Step = [Direction, Uint8Array];

/** Feeds each step in `chunk`-byte pieces, then ends the flow. */
function play(steps: Step[], chunk = Infinity, evidence: EvidenceMode = 'redacted'): Run {
  const run = start(evidence);
  for (const [dir, data] of steps) {
    for (let at = 0; at < data.length; at += chunk) {
      if (run.analyzer.verdict === 'reject') break;
      run.analyzer.data(dir, data.subarray(at, at + chunk));
    }
  }
  run.analyzer.end();
  return run;
}

const ACK = Uint8Array.of(0);
const CONTROL_FILE = bytes('Hwardpc\nPnurse\nJDOE JANE discharge\nldfA123wardpc\nUdfA123wardpc\nNMRN123456.txt\n');
/** Report text, padded with bytes that would read as subcommands if the file were not skipped. */
const DATA_FILE = concat(
  ...Array.from({ length: 200 }, (_, k) => bytes(`PATIENT DOE JANE MRN123456 line ${k}\n\x02 12 cfA999evil\n\x01\n`)),
);
const FILE_SECRETS = ['DOE JANE', 'MRN123456', 'nurse', 'wardpc', 'PATIENT'];

/** lpr's job transfer: receive-job, control file, data file, each answered by a 0x00. */
function printJob(): Step[] {
  return [
    [0, bytes('\x02ward-laser\n')],
    [1, ACK],
    [0, bytes(`\x02${CONTROL_FILE.length} cfA123wardpc\n`)],
    [1, ACK],
    [0, concat(CONTROL_FILE, ACK)],
    [1, ACK],
    [0, bytes(`\x03${DATA_FILE.length} dfA123wardpc\n`)],
    [1, ACK],
    [0, DATA_FILE],
    [0, ACK],
    [1, ACK],
  ];
}

const PRINT_JOB_EVENTS = [
  { type: 'lpd.command', proto: 'lpd', dir: 0, command: 'receive-job', code: 2, queue: 'ward-laser' },
  {
    type: 'lpd.command',
    proto: 'lpd',
    dir: 0,
    command: 'receive-control-file',
    code: 2,
    queue: 'ward-laser',
    size: CONTROL_FILE.length,
  },
  {
    type: 'lpd.command',
    proto: 'lpd',
    dir: 0,
    command: 'receive-data-file',
    code: 3,
    queue: 'ward-laser',
    size: DATA_FILE.length,
  },
];

describe('lpd analyzer', () => {
  it('declares itself as a TCP analyzer for lpd', () => {
    expect(lpdAnalyzer.proto).toBe('lpd');
    expect(lpdAnalyzer.transports).toEqual(['tcp']);
  });

  it('follows a print job with control and data files and the server acknowledgements', () => {
    const { analyzer, events } = play(printJob());
    expect(analyzer.verdict).toBe('match');
    expect(events).toEqual(PRINT_JOB_EVENTS);
  });

  it('matches as soon as the first command line is complete', () => {
    const { analyzer, events } = start();
    analyzer.data(0, bytes('\x02ward-la'));
    expect(analyzer.verdict).toBe('probing');
    analyzer.data(0, bytes('ser\n'));
    expect(analyzer.verdict).toBe('match');
    expect(events).toEqual([PRINT_JOB_EVENTS[0]]);
  });

  it('skips a data file spread over many calls and never reports its bytes', () => {
    const { analyzer, events } = play(printJob(), 13);
    expect(analyzer.verdict).toBe('match');
    expect(events).toEqual(PRINT_JOB_EVENTS);
    const json = JSON.stringify(events);
    for (const s of FILE_SECRETS) expect(json).not.toContain(s);
  });

  it('gives the same events when fed one byte per call', () => {
    expect(play(printJob(), 1).events).toEqual(PRINT_JOB_EVENTS);
  });

  it('returns to subcommands after each file: a second data file is seen', () => {
    const steps = [...printJob(), [0, bytes('\x034 dfB123wardpc\n')] as Step, [0, concat(bytes('abcd'), ACK)] as Step];
    const { events } = play(steps);
    expect(events).toHaveLength(4);
    expect(events[3]).toEqual({ ...PRINT_JOB_EVENTS[2], size: 4 });
  });

  it('reports an aborted job', () => {
    const { events } = play([
      [0, bytes('\x02lp\n')],
      [1, ACK],
      [0, bytes('\x01\n')],
    ]);
    expect(events.map((e) => (e.type === 'lpd.command' ? e.command : e.type))).toEqual(['receive-job', 'abort-job']);
  });

  it('reports queue state queries and ignores the listing the server sends back', () => {
    const listing = bytes('lp is ready and printing\nRank   Owner   Job  Files\nactive jdoe    12   report.txt\n');
    const long = play([
      [0, bytes('\x04lp jdoe 12\n')],
      [1, listing],
    ]);
    expect(long.analyzer.verdict).toBe('match');
    expect(long.events).toEqual([{ type: 'lpd.command', proto: 'lpd', dir: 0, command: 'queue-state-long', code: 4, queue: 'lp' }]);
    const short = play([
      [0, bytes('\x03lp\n')],
      [1, listing],
    ]);
    expect(short.events).toEqual([{ type: 'lpd.command', proto: 'lpd', dir: 0, command: 'queue-state-short', code: 3, queue: 'lp' }]);
  });

  it('reports job removal and a print-waiting-jobs request', () => {
    expect(play([[0, bytes('\x05lp root 123 124\n')]]).events).toEqual([
      { type: 'lpd.command', proto: 'lpd', dir: 0, command: 'remove-jobs', code: 5, queue: 'lp' },
    ]);
    expect(play([[0, bytes('\x01lp\n')]]).events).toEqual([
      { type: 'lpd.command', proto: 'lpd', dir: 0, command: 'print-jobs', code: 1, queue: 'lp' },
    ]);
  });

  it('treats a data file announced with count 0 as running to the end of the connection', () => {
    const { events } = play([
      [0, bytes('\x02lp\n')],
      [0, bytes('\x030 dfA001wardpc\n')],
      [0, bytes('report text\n\x0212 cfA002wardpc\n')],
    ]);
    expect(events.map((e) => (e.type === 'lpd.command' ? e.command : e.type))).toEqual(['receive-job', 'receive-data-file']);
  });

  it('follows a gap inside a data file by its count', () => {
    const { analyzer, events } = start();
    analyzer.data(0, bytes('\x02lp\n\x03100 dfA001wardpc\n'));
    analyzer.data(0, new Uint8Array(40).fill(0x41));
    analyzer.gap(0, 50);
    analyzer.data(0, concat(new Uint8Array(10).fill(0x41), ACK, bytes('\x035 dfB001wardpc\n')));
    expect(events).toHaveLength(3);
    expect(events[2]).toMatchObject({ command: 'receive-data-file', size: 5 });
  });

  it('loses track, without further events, when a file is not followed by its 0x00', () => {
    const { analyzer, events } = play([[0, bytes('\x02lp\n\x033 dfA001wardpc\nabcX\x035 dfB001wardpc\n')]]);
    expect(analyzer.verdict).toBe('match');
    expect(events.map((e) => (e.type === 'lpd.command' ? e.command : e.type))).toEqual(['receive-job', 'receive-data-file']);
  });

  it('stays matched but stops reporting after a malformed subcommand', () => {
    const { analyzer, events } = play([[0, bytes('\x02lp\n\x09nonsense\n\x0210 cfA001wardpc\n')]]);
    expect(analyzer.verdict).toBe('match');
    expect(events).toHaveLength(1);
  });

  it('leaves the queue name out in the none evidence mode', () => {
    expect(play(printJob(), Infinity, 'none').events).toEqual([
      { type: 'lpd.command', proto: 'lpd', dir: 0, command: 'receive-job', code: 2 },
      { type: 'lpd.command', proto: 'lpd', dir: 0, command: 'receive-control-file', code: 2 },
      { type: 'lpd.command', proto: 'lpd', dir: 0, command: 'receive-data-file', code: 3 },
    ]);
  });

  describe('rejection', () => {
    const hl7 = concat(
      [0x0b],
      bytes('MSH|^~\\&|MONITOR|WARD|CENTRAL|HOSP|20250130083000||ORU^R01|MSG0001|P|2.3\rPID|1||MRN123456||DOE^JANE\r'),
      [0x1c, 0x0d],
    );
    // Bed block, then an empty block (02 00 05 43), then ECG and pleth telemetry.
    const cms8000 = concat(
      [0x06, 0x00, 0x05, 0x45, 0, 0, 7, 0xff],
      [0x02, 0x00, 0x05, 0x43],
      [0x0a, 0x00, 0x05, 0x46, 0, 0, 0x14, 0, 0x80, 0x81, 0x82, 0x83],
      [0x0a, 0x00, 0x05, 0x46, 0, 0, 0x15, 0, 0x60, 0x61, 0x62, 0x63],
      [0x0a, 0x00, 0x05, 0x46, 0, 0, 0x14, 0, 0x84, 0x85, 0x86, 0x87],
      [0x0a, 0x00, 0x05, 0x46, 0, 0, 0x15, 0, 0x64, 0x65, 0x66, 0x67],
    );
    const cases: Record<string, [Uint8Array, 'text' | 'binary']> = {
      'HL7 over MLLP': [hl7, 'text'],
      'a CMS8000 block stream': [cms8000, 'binary'],
      'a CMS8000 stream opening with an empty block (02 00 05 43)': [cms8000.subarray(8), 'binary'],
      'a CMS8000 stream opening with a 0x0203-long block': [
        concat([0x03, 0x02, 0x05, 0x46, 0, 0, 0x14, 0], new Uint8Array(40).fill(0x7f)),
        'binary',
      ],
      'HTTP': [bytes('GET /pm HTTP/1.1\r\nHost: 202.114.4.119\r\nUser-Agent: monitor\r\n\r\n'), 'text'],
      'random binary': [Uint8Array.from({ length: 64 }, (_, k) => (k * 151 + 7) & 0xff), 'binary'],
      'a command line that never ends': [concat(bytes('\x02'), new Uint8Array(2000).fill(0x61)), 'text'],
    };

    for (const [name, [stream, looksLike]] of Object.entries(cases)) {
      it(`rejects ${name} on the first call as ${looksLike}`, () => {
        const { analyzer, events } = start();
        analyzer.data(0, stream);
        expect(analyzer.verdict).toBe('reject');
        expect(events).toEqual([{ type: 'lpd.not_lpd', proto: 'lpd', dir: 0, looksLike }]);
      });

      it(`rejects ${name} fed one byte per call with the same event`, () => {
        const { analyzer, events } = play([[0, stream]], 1);
        expect(analyzer.verdict).toBe('reject');
        expect(events).toEqual([{ type: 'lpd.not_lpd', proto: 'lpd', dir: 0, looksLike }]);
      });
    }

    it('rejects a server that speaks first, describing its bytes', () => {
      const { analyzer, events } = play([[1, bytes('220 mail.example.org ESMTP ready for you\r\n')]]);
      expect(analyzer.verdict).toBe('reject');
      expect(events).toEqual([{ type: 'lpd.not_lpd', proto: 'lpd', dir: 1, looksLike: 'text' }]);
    });

    it('after a server banner, describes the client\'s bytes: the banner says nothing of what the client sends', () => {
      const { analyzer, events } = start();
      analyzer.data(1, bytes('220 HL7 gateway ready\r\n'));
      expect(analyzer.verdict).toBe('probing');
      analyzer.data(0, new Uint8Array(40).fill(0x00));
      expect(analyzer.verdict).toBe('reject');
      expect(events).toEqual([{ type: 'lpd.not_lpd', proto: 'lpd', dir: 0, looksLike: 'binary' }]);
    });

    it('does not wait for ever for a silent client after a server that spoke first', () => {
      const { analyzer, events } = start();
      for (let i = 0; i < 5 && analyzer.verdict === 'probing'; i++) analyzer.data(1, new Uint8Array(1000).fill(0x41));
      expect(analyzer.verdict).toBe('reject');
      expect(events).toEqual([{ type: 'lpd.not_lpd', proto: 'lpd', dir: 1, looksLike: 'text' }]);
    });

    it('classifies a short non-LPD flow when it ends', () => {
      const { analyzer, events } = start();
      analyzer.data(0, Uint8Array.of(0x16, 0x03, 0x01, 0x00));
      expect(analyzer.verdict).toBe('probing');
      analyzer.end();
      expect(analyzer.verdict).toBe('reject');
      expect(events).toEqual([{ type: 'lpd.not_lpd', proto: 'lpd', dir: 0, looksLike: 'binary' }]);
    });

    it('rejects an empty queue name and a code outside 1..5', () => {
      expect(play([[0, bytes('\x02\n')]]).events).toEqual([{ type: 'lpd.not_lpd', proto: 'lpd', dir: 0, looksLike: 'binary' }]);
      expect(play([[0, bytes('\x07lp\n')]]).analyzer.verdict).toBe('reject');
    });

    it('rejects without claiming anything when a gap hides the opening', () => {
      const { analyzer, events } = start();
      analyzer.gap(0, 300);
      expect(analyzer.verdict).toBe('reject');
      expect(events).toEqual([]);
    });
  });

  describe('properties', () => {
    it('never throws on random bytes, random splits and gaps', () => {
      const step = fc.oneof(
        fc.record({ dir: fc.constantFrom<Direction>(0, 1), bytes: fc.uint8Array({ maxLength: 200 }) }),
        fc.record({ dir: fc.constantFrom<Direction>(0, 1), gap: fc.integer({ min: 0, max: 3000 }) }),
      );
      fc.assert(
        fc.property(fc.array(step, { maxLength: 30 }), (steps) => {
          const { analyzer, events } = start();
          for (const s of steps) {
            if (analyzer.verdict === 'reject') break;
            if ('gap' in s) analyzer.gap(s.dir, s.gap);
            else analyzer.data(s.dir, s.bytes);
          }
          analyzer.end();
          expect(events.filter((e) => e.type === 'lpd.not_lpd').length).toBeLessThanOrEqual(1);
        }),
      );
    });

    it('never throws on random bytes inside a receive-job', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 2000 }), fc.integer({ min: 1, max: 50 }), (noise, chunk) => {
          const { analyzer } = play([[0, concat(bytes('\x02lp\n'), noise)]], chunk);
          expect(analyzer.verdict).toBe('match');
        }),
      );
    });

    it('gives the same events however the client stream is split', () => {
      const client = concat(...printJob().filter(([dir]) => dir === 0).map(([, data]) => data));
      fc.assert(
        fc.property(fc.uniqueArray(fc.integer({ min: 1, max: client.length - 1 }), { maxLength: 40 }), (cuts) => {
          const points = [0, ...cuts.sort((a, b) => a - b), client.length];
          const run = start();
          for (let k = 1; k < points.length; k++) run.analyzer.data(0, client.subarray(points[k - 1], points[k]));
          run.analyzer.end();
          expect(run.events).toEqual(PRINT_JOB_EVENTS);
        }),
      );
    });

    it('gives the same verdict and event however a non-LPD stream is split', () => {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 1, maxLength: 100 }), fc.array(fc.integer({ min: 1, max: 99 }), { maxLength: 10 }), (stream, cuts) => {
          const whole = play([[0, stream]]);
          const points = [0, ...[...new Set(cuts.filter((c) => c < stream.length))].sort((a, b) => a - b), stream.length];
          const run = start();
          for (let k = 1; k < points.length && run.analyzer.verdict !== 'reject'; k++) {
            run.analyzer.data(0, stream.subarray(points[k - 1], points[k]));
          }
          run.analyzer.end();
          expect(run.analyzer.verdict).toBe(whole.analyzer.verdict);
          expect(run.events).toEqual(whole.events);
        }),
      );
    });
  });
});
