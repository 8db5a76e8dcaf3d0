import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hl7Analyzer } from '../../src/analyzers/hl7/analyzer.js';
import { DEFAULT_MAX_MESSAGE_BYTES, HEADER_CAP, isHl7Version, isSeparatorByte, parseHl7Header } from '../../src/analyzers/hl7/header.js';
import {
  ACK,
  ADT,
  ADT_IDS,
  ORU,
  ORU_IDS,
  ORU_SEGMENTS,
  PATIENT_STRINGS,
  bytes,
  concat,
  everyByte,
  feedSplit,
  harness,
  message,
  mllp,
  type Terminator,
} from './hl7-fixtures.js';

const header = (text: string) => parseHl7Header(bytes(text));

describe('parseHl7Header', () => {
  it('numbers MSH fields from the separator: MSH-3 is the third field, MSH-12 the twelfth', () => {
    const h = header('MSH|^~\\&|F3|F4|F5|F6|F7|F8|ORU^R01|F10|F11|2.5|F13');
    expect(h).toEqual({
      segment: 'MSH',
      fieldSeparator: '|',
      encodingCharacters: '^~\\&',
      sendingApplication: 'F3',
      sendingFacility: 'F4',
      messageType: 'ORU',
      triggerEvent: 'R01',
      messageStructure: '',
      controlId: 'F10',
      version: '2.5',
    });
  });

  it('reads the message structure from a three-component MSH-9', () => {
    const h = header('MSH|^~\\&|APP|FAC|||20240101||ADT^A04^ADT_A01|C1|P|2.3.1');
    expect([h?.messageType, h?.triggerEvent, h?.messageStructure]).toEqual(['ADT', 'A04', 'ADT_A01']);
  });

  it('accepts a message type without a trigger (a bare ACK)', () => {
    expect(header('MSH|^~\\&|A|B|C|D|20240101||ACK|9|P|2.2')?.triggerEvent).toBe('');
  });

  it('uses whatever field and component separators the segment declares', () => {
    const h = header('MSH*:~\\&*APP*FAC*RCV*RFAC*20240101**ORU:R01*CTL7*P*2.4:USA');
    expect(h).toMatchObject({
      fieldSeparator: '*',
      sendingApplication: 'APP',
      messageType: 'ORU',
      triggerEvent: 'R01',
      controlId: 'CTL7',
      version: '2.4',
    });
  });

  it('accepts five encoding characters (with the truncation character)', () => {
    expect(header('MSH|^~\\&#|A|B|C|D|20240101||ORU^R01|1|P|2.7')?.encodingCharacters).toBe('^~\\&#');
  });

  it('takes batch header fields from FHS-3, FHS-4 and FHS-11', () => {
    const h = header('FHS|^~\\&|LABSYS|GENHOSP|EHR|GENHOSP|20240315|SEC|FILE1|COMMENT|FCTL42');
    expect(h).toMatchObject({ segment: 'FHS', sendingApplication: 'LABSYS', sendingFacility: 'GENHOSP', controlId: 'FCTL42', messageType: '', version: '' });
  });

  it.each([
    ['a letter as field separator', 'MSHX^~\\&XAXBXCXDX20240101XXORU^R01X1XPX2.5'],
    ['a space as field separator', 'MSH ^~\\& A B C D 20240101  ORU^R01 1 P 2.5'],
    ['prose after MSH|', 'MSH|this is the message header|A|B|C|D|E||ORU^R01|1|P|2.5'],
    ['one encoding character', 'MSH|^|A|B|C|D|20240101||ORU^R01|1|P|2.5'],
    ['repeated encoding characters', 'MSH|^^~&|A|B|C|D|20240101||ORU^R01|1|P|2.5'],
    ['encoding characters without the separator after them', 'MSH|^~\\&'],
    ['a non-header segment', 'PID|^~\\&|A|B|C|D|20240101||ORU^R01|1|P|2.5'],
  ])('rejects %s', (_name, text) => {
    expect(header(text)).toBeUndefined();
  });

  // Detection must not depend on the sender following the standard after MSH-2.
  it.each([
    ['a lower-case message type', 'MSH|^~\\&|A|B|C|D|20240101||oru^R01|1|P|2.5', '', '2.5'],
    ['a four-letter message type', 'MSH|^~\\&|A|B|C|D|20240101||ORUX^R01|1|P|2.5', '', '2.5'],
    ['a malformed trigger', 'MSH|^~\\&|A|B|C|D|20240101||ORU^R-1|1|P|2.5', '', '2.5'],
    ['version 3.0', 'MSH|^~\\&|A|B|C|D|20240101||ORU^R01|1|P|3.0', 'ORU', ''],
    ['no version field', 'MSH|^~\\&|A|B|C|D|20240101||ORU^R01|1|P', 'ORU', ''],
    ['nothing after the encoding characters (the rest cut off)', 'MSH|^~\\&|', '', ''],
    ['a sending application longer than the header kept', `MSH|^~\\&|${'A'.repeat(5000)}`, '', ''],
  ])('keeps a header with %s, reporting only the fields of standard shape', (_name, text, messageType, version) => {
    const h = header(text);
    expect(h).toBeDefined();
    expect([h!.messageType, h!.version]).toEqual([messageType, version]);
  });

  it('never throws on short or binary input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (data) => {
        parseHl7Header(data);
        parseHl7Header(concat(bytes('MSH|'), data));
      }),
    );
  });
});

describe('small checks', () => {
  it('isSeparatorByte accepts printable punctuation only', () => {
    expect(['|', '*', '#', '^'].every((c) => isSeparatorByte(c.charCodeAt(0)))).toBe(true);
    expect(['A', 'z', '5', ' ', '\t', '\x7f'].some((c) => isSeparatorByte(c.charCodeAt(0)))).toBe(false);
  });

  it('isHl7Version accepts 2.x versions only', () => {
    expect(['2.1', '2.3.1', '2.5.1', '2.8'].every(isHl7Version)).toBe(true);
    expect(['3.0', '2', '2.x', 'v2.5', '2.5.1.1', ''].some(isHl7Version)).toBe(false);
  });

  it('the factory runs on TCP and UDP flows under the hl7 protocol name', () => {
    expect(hl7Analyzer.proto).toBe('hl7');
    expect([...hl7Analyzer.transports].sort()).toEqual(['tcp', 'udp']);
  });
});

const ORU_EVENT = {
  proto: 'hl7',
  dir: 0,
  type: 'hl7.message',
  messageType: 'ORU',
  triggerEvent: 'R01',
  controlId: 'MSG00001',
  version: '2.5.1',
  sendingApplication: 'MONITOR',
  sendingFacility: 'WARD3',
  segments: ORU_IDS,
  identitySegments: ['PID', 'PV1'],
  length: ORU.length,
};

describe('Hl7Analyzer framing', () => {
  it('reports an MLLP-framed ORU^R01 and matches the flow', () => {
    const h = harness();
    h.analyzer.data(0, mllp(ORU));
    expect(h.analyzer.verdict).toBe('match');
    expect(h.events).toEqual([{ ...ORU_EVENT, framing: 'mllp' }]);
    h.analyzer.end();
    expect(h.events).toHaveLength(1);
  });

  it.each<[string, Terminator]>([
    ['CR', '\r'],
    ['LF', '\n'],
    ['CRLF', '\r\n'],
  ])('reads bare messages with %s segment terminators', (_name, terminator) => {
    const first = message(ORU_SEGMENTS, terminator);
    const second = message(ORU_SEGMENTS.map((s) => s.replace('MSG00001', 'MSG00002')), terminator);
    const h = harness();
    h.analyzer.data(0, bytes(first + second));
    // The first message ends at the second MSH; the second only at the end of the flow.
    expect(h.events).toEqual([{ ...ORU_EVENT, framing: 'bare', length: first.length }]);
    h.analyzer.end();
    expect(h.events[1]).toEqual({ ...ORU_EVENT, framing: 'bare', controlId: 'MSG00002', length: second.length });
  });

  it.each<[string, Terminator]>([
    ['CR', '\r'],
    ['CRLF', '\r\n'],
  ])('reads MLLP frames with %s segment terminators', (_name, terminator) => {
    const text = message(ORU_SEGMENTS, terminator);
    const h = harness();
    feedSplit(h, 0, mllp(text), []);
    expect(h.events).toEqual([{ ...ORU_EVENT, framing: 'mllp', length: text.length }]);
  });

  it('accepts blank lines before a bare stream and an MLLP frame end without the CR', () => {
    const bare = harness();
    feedSplit(bare, 0, bytes('\r\n\r\n' + ORU), []);
    expect(bare.events).toEqual([{ ...ORU_EVENT, framing: 'bare' }]);

    const framed = harness();
    feedSplit(framed, 0, concat(bytes('\x0b' + ORU + '\x1c'), bytes('\x0b' + ACK + '\x1c')), []);
    expect(framed.events.map((e) => e.messageType)).toEqual(['ORU', 'ACK']);
  });

  it('gives the same events when a message arrives one byte per call', () => {
    for (const data of [mllp(ORU), bytes(ORU)]) {
      const whole = harness();
      feedSplit(whole, 0, data, []);
      const bytewise = harness();
      feedSplit(bytewise, 0, data, everyByte(data));
      expect(whole.events).toHaveLength(1);
      expect(bytewise.events).toEqual(whole.events);
    }
  });

  it('stays probing until the MSH segment is complete, then matches', () => {
    const h = harness();
    const data = mllp(ORU);
    const mshEnd = ORU.indexOf('\r') + 1; // + 1 for the 0x0B
    h.analyzer.data(0, data.subarray(0, mshEnd));
    expect(h.analyzer.verdict).toBe('probing');
    h.analyzer.data(0, data.subarray(mshEnd, mshEnd + 1));
    expect(h.analyzer.verdict).toBe('match');
    expect(h.events).toEqual([]);
  });

  it('reports three messages that arrive in one call, MLLP and bare', () => {
    const texts = [ORU, ADT, ORU.replace('MSG00001', 'MSG00003')];
    const framed = harness();
    framed.analyzer.data(0, concat(...texts.map(mllp)));
    expect(framed.events.map((e) => [e.messageType, e.controlId, e.length])).toEqual([
      ['ORU', 'MSG00001', ORU.length],
      ['ADT', 'ADT00007', ADT.length],
      ['ORU', 'MSG00003', ORU.length],
    ]);

    const bare = harness();
    feedSplit(bare, 0, bytes(texts.join('')), []);
    expect(bare.events.map((e) => [e.framing, e.controlId, e.length])).toEqual([
      ['bare', 'MSG00001', ORU.length],
      ['bare', 'ADT00007', ADT.length],
      ['bare', 'MSG00003', ORU.length],
    ]);
  });

  it('lists segment ids in order and the identity segments present', () => {
    const h = harness();
    feedSplit(h, 0, mllp(ADT), []);
    expect(h.events[0]).toMatchObject({
      messageType: 'ADT',
      triggerEvent: 'A01',
      version: '2.4',
      segments: ADT_IDS,
      identitySegments: ['PID', 'NK1', 'PV1', 'IN1', 'GT1'],
    });
  });

  it('reports a batch header and the messages of an FHS/BHS batch, bare and framed', () => {
    const fhs = 'FHS|^~\\&|LABSYS|GENHOSP|EHR|GENHOSP|20240315||FILE1||FCTL42\r';
    const bhs = 'BHS|^~\\&|LABSYS|GENHOSP|EHR|GENHOSP|20240315||BATCH1||BCTL7\r';
    const trailer = 'BTS|2\rFTS|1\r';
    const batch = fhs + bhs + ORU + ACK + trailer;
    const expected = [
      ['', 'FCTL42', ['FHS', 'BHS'], (fhs + bhs).length],
      ['ORU', 'MSG00001', ORU_IDS, ORU.length],
      ['ACK', 'ACK00001', ['MSH', 'MSA'], ACK.length],
    ];
    for (const data of [bytes(batch), mllp(batch)]) {
      const h = harness();
      feedSplit(h, 0, data, []);
      expect(h.analyzer.verdict).toBe('match');
      expect(h.events.map((e) => [e.messageType, e.controlId, e.segments, e.length])).toEqual(expected);
      expect(h.events[0]).toMatchObject({ sendingApplication: 'LABSYS', sendingFacility: 'GENHOSP', version: '' });
    }
  });

  it('drops a batch header that is never followed by a message', () => {
    const h = harness();
    feedSplit(h, 0, bytes('FHS|^~\\&|LABSYS|GENHOSP\rBHS|^~\\&|LABSYS|GENHOSP\rBTS|0\rFTS|1\r'), []);
    expect(h.events).toEqual([]);
    expect(h.analyzer.verdict).toBe('probing');
  });

  it('reads the ACK that comes back in the other direction', () => {
    const h = harness();
    h.analyzer.data(0, mllp(ORU));
    h.analyzer.data(1, mllp(ACK));
    h.analyzer.end();
    expect(h.events.map((e) => [e.dir, e.messageType, e.triggerEvent, e.controlId, e.segments])).toEqual([
      [0, 'ORU', 'R01', 'MSG00001', ORU_IDS],
      [1, 'ACK', 'R01', 'ACK00001', ['MSH', 'MSA']],
    ]);
  });

  it('reads a message whose field separator is not |', () => {
    const text = message([
      'MSH*:~\\&*MONITOR*WARD3*EHR*GENHOSP*20240315**ORU:R01*STAR1*P*2.5',
      'PID*1**MRN123456:::GENHOSP:MR**DOE:JANE',
      'OBX*1*NM*8867-4:Heart rate:LN**72',
    ]);
    const h = harness();
    feedSplit(h, 0, mllp(text), []);
    expect(h.events).toEqual([
      expect.objectContaining({ messageType: 'ORU', triggerEvent: 'R01', controlId: 'STAR1', segments: ['MSH', 'PID', 'OBX'] }),
    ]);
  });

  it('ends each UDP datagram with its bare message', () => {
    const h = harness('redacted', {}, 'udp');
    h.analyzer.data(0, bytes(ORU.slice(0, -1))); // no final CR
    h.analyzer.data(0, bytes(ACK));
    expect(h.events.map((e) => [e.messageType, e.length, e.truncated])).toEqual([
      ['ORU', ORU.length - 1, undefined],
      ['ACK', ACK.length, undefined],
    ]);
  });
});

describe('Hl7Analyzer gaps and truncation', () => {
  it('reports an MLLP message cut by a gap after its header, truncated, and reads the next one', () => {
    const h = harness();
    const first = mllp(ORU);
    h.analyzer.data(0, first.subarray(0, 150));
    h.analyzer.gap(0, 40);
    h.analyzer.data(0, first.subarray(190));
    h.analyzer.data(0, mllp(ADT));
    h.analyzer.end();
    expect(h.events.map((e) => [e.messageType, e.truncated, e.incomplete])).toEqual([
      ['ORU', true, ['gap']],
      ['ADT', undefined, undefined],
    ]);
  });

  it('reports a bare message cut mid-segment by a gap, truncated, and resynchronises on the next MSH', () => {
    const h = harness();
    const data = bytes(ORU + ADT + ACK);
    h.analyzer.data(0, data.subarray(0, 150));
    h.analyzer.gap(0, 30);
    h.analyzer.data(0, data.subarray(180));
    h.analyzer.end();
    expect(h.events.map((e) => [e.controlId, e.truncated, e.incomplete])).toEqual([
      ['MSG00001', true, ['gap']],
      ['ADT00007', undefined, undefined],
      ['ACK00001', undefined, undefined],
    ]);
  });

  it('reports a bare message that was complete up to a segment end when a gap follows', () => {
    const h = harness();
    h.analyzer.data(0, bytes(ORU));
    h.analyzer.gap(0, 500);
    expect(h.events).toEqual([{ ...ORU_EVENT, framing: 'bare', incomplete: ['gap'] }]);
    h.analyzer.data(0, bytes('OBX|3|NM|lost\r' + ACK));
    h.analyzer.end();
    expect(h.events.map((e) => e.controlId)).toEqual(['MSG00001', 'ACK00001']);
  });

  it('finds the stream after a gap at its very start', () => {
    const h = harness();
    h.analyzer.gap(0, 100);
    h.analyzer.data(0, bytes('ATE|partial segment\r' + ORU));
    h.analyzer.end();
    expect(h.events.map((e) => e.controlId)).toEqual(['MSG00001']);
  });

  it('reports an MLLP message the flow ended inside as truncated', () => {
    const h = harness();
    const cut = ORU.length - 20;
    h.analyzer.data(0, mllp(ORU).subarray(0, 1 + cut));
    expect(h.events).toEqual([]);
    h.analyzer.end();
    expect(h.events).toEqual([{ ...ORU_EVENT, framing: 'mllp', length: cut, truncated: true }]);
  });

  it('marks a bare message truncated only when the flow ended inside a segment', () => {
    const midSegment = harness();
    feedSplit(midSegment, 0, bytes(ORU.slice(0, -10)), []);
    expect(midSegment.events).toEqual([{ ...ORU_EVENT, framing: 'bare', length: ORU.length - 10, truncated: true }]);

    const atSegmentEnd = harness();
    const withoutLastObx = ORU.slice(0, ORU.lastIndexOf('OBX'));
    feedSplit(atSegmentEnd, 0, bytes(withoutLastObx), []);
    expect(atSegmentEnd.events).toEqual([
      { ...ORU_EVENT, framing: 'bare', length: withoutLastObx.length, segments: ORU_IDS.slice(0, -1) },
    ]);
  });

  it.each([
    ['markup', '<html>'],
    ['a lower-case segment id', 'obx|1'],
    ['another field separator', 'OBX#1#NM'],
    ['a two-letter segment id', 'OB'],
  ])('reports a message broken by %s after the match as truncated, then goes on', (_name, bad) => {
    const broken = ORU_SEGMENTS.slice(0, 3).join('\r') + '\r' + bad + '\r' + ORU_SEGMENTS.slice(3).join('\r') + '\r';
    const expected = [
      ['ORU', ['MSH', 'PID', 'PV1'], true],
      ['ACK', ['MSH', 'MSA'], undefined],
    ];
    const framed = harness();
    feedSplit(framed, 0, concat(mllp(broken), mllp(ACK)), []);
    expect(framed.events.map((e) => [e.messageType, e.segments, e.truncated])).toEqual(expected);
    const bare = harness();
    feedSplit(bare, 0, bytes(broken + ACK), []);
    expect(bare.events.map((e) => [e.messageType, e.segments, e.truncated])).toEqual(expected);
  });

  it('keeps an oversize MLLP message bounded and reports it truncated at the cap', () => {
    const h = harness('full');
    const obx = bytes('OBX|1|ED|PDF^Report^L||^AP^PDF^Base64^' + 'QUJD'.repeat(500) + '\r');
    h.analyzer.data(0, concat(Uint8Array.of(0x0b), bytes(ORU)));
    let sent = ORU.length;
    let maxHeld = 0;
    while (sent < 8 * DEFAULT_MAX_MESSAGE_BYTES) {
      h.analyzer.data(0, obx);
      sent += obx.length;
      maxHeld = Math.max(maxHeld, h.analyzer.bufferedBytes);
    }
    expect(maxHeld).toBeGreaterThan(0);
    expect(maxHeld).toBeLessThanOrEqual(DEFAULT_MAX_MESSAGE_BYTES);
    expect(h.events).toHaveLength(1);
    expect(h.events[0]).toMatchObject({ messageType: 'ORU', length: DEFAULT_MAX_MESSAGE_BYTES, truncated: true });
    expect(h.events[0].phi?.text.length).toBe(DEFAULT_MAX_MESSAGE_BYTES);
    expect(h.events[0].segments.length).toBeLessThanOrEqual(1024);
    // The rest of the frame is passed over; the next frame is read.
    h.analyzer.data(0, concat(Uint8Array.of(0x1c, 0x0d), mllp(ACK)));
    expect(h.events.map((e) => e.messageType)).toEqual(['ORU', 'ACK']);
  });

  it('holds no more than the header segment of a huge message in redacted mode', () => {
    const max = 64 * 1024;
    const h = harness('redacted', { maxMessageBytes: max });
    h.analyzer.data(0, bytes('\x0b' + ORU_SEGMENTS[0] + '\rOBX|1|ED|'));
    const chunk = bytes('A'.repeat(10_000));
    for (let i = 0; i < 100; i++) {
      h.analyzer.data(0, chunk);
      expect(h.analyzer.bufferedBytes).toBeLessThanOrEqual(HEADER_CAP);
    }
    expect(h.events.map((e) => [e.length, e.truncated])).toEqual([[max, true]]);
  });
});

describe('Hl7Analyzer rejects look-alikes', () => {
  const lookAlikes: [string, string | Uint8Array][] = [
    [
      'a web page about HL7',
      'HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<p>MSH|^~\\&|APP|FAC|||20240101||ORU^R01|1|P|2.5\rPID|1||X</p>',
    ],
    ['an HTTP request', 'GET /hl7/MSH HTTP/1.1\r\nHost: example\r\n\r\n'],
    ['an SMTP greeting', '220 mail.example.org ESMTP\r\n'],
    ['an email body', 'From: lab@example.org\r\nSubject: MSH and PID| segments\r\n\r\nMSH|^~\\&|A|B\r\n'],
    ['prose that starts with MSH', 'MSH is the message header segment of HL7 v2.\r\nPID| carries the patient.\r\n'],
    ['text that starts with PID|', 'PID|1||MRN123456||DOE^JANE\r'],
    ['an LPD receive-job command', Uint8Array.of(0x02, 0x6c, 0x70, 0x0a)],
    ['random binary', Uint8Array.of(0x8f, 0x3a, 0x00, 0xfe, 0x11, 0x0b, 0x4d, 0x53, 0x48, 0x7c)],
  ];

  it.each(lookAlikes)('rejects %s on its first call', (_name, data) => {
    const h = harness();
    h.analyzer.data(0, typeof data === 'string' ? bytes(data) : data);
    expect(h.analyzer.verdict).toBe('reject');
    expect(h.all).toEqual([]);
  });

  it.each([
    ['a bad version', 'MSH|^~\\&|A|B|C|D|20240101||ORU^R01|1|P|9.9\rPID|1\r', ''],
    ['a bad message type', 'MSH|^~\\&|A|B|C|D|20240101||Oru^R01|1|P|2.5\rPID|1\r', '2.5'],
  ])('reports an MSH stream with %s: the sender need not follow the standard', (_name, text, version) => {
    for (const data of [bytes(text), mllp(text)]) {
      const h = harness();
      feedSplit(h, 0, data, []);
      h.analyzer.end();
      expect(h.analyzer.verdict).toBe('match');
      expect(h.events.map((e) => [e.segments, e.version])).toEqual([[['MSH', 'PID'], version]]);
    }
  });

  it.each([
    ['MSH not at the start', 'XMSH|^~\\&|A|B|C|D|20240101||ORU^R01|1|P|2.5\r'],
  ])('rejects an MSH stream with %s', (_name, text) => {
    for (const data of [bytes(text), mllp(text)]) {
      const h = harness();
      feedSplit(h, 0, data, []);
      expect(h.analyzer.verdict).toBe('reject');
      expect(h.all).toEqual([]);
    }
  });

  it('judges each direction on its own: a server that speaks something else first ends only its own direction', () => {
    const h = harness();
    h.analyzer.data(1, bytes('SSH-2.0-OpenSSH_9.6\r\n'));
    expect(h.analyzer.verdict).toBe('probing');
    h.analyzer.data(0, mllp(ORU));
    expect(h.analyzer.verdict).toBe('match');
    expect(h.events.map((e) => e.controlId)).toEqual(['MSG00001']);
  });

  it('rejects the flow when the client speaks something else, whatever the server said', () => {
    const h = harness();
    h.analyzer.data(1, bytes('SSH-2.0-OpenSSH_9.6\r\n'));
    h.analyzer.data(0, bytes('SSH-2.0-PuTTY\r\n'));
    expect(h.analyzer.verdict).toBe('reject');
  });

  it('keeps the match when the other direction later sends junk', () => {
    const h = harness();
    h.analyzer.data(0, mllp(ORU));
    h.analyzer.data(1, bytes('garbage'));
    h.analyzer.data(1, mllp(ACK));
    h.analyzer.end();
    expect(h.analyzer.verdict).toBe('match');
    expect(h.events.map((e) => [e.dir, e.messageType])).toEqual([
      [0, 'ORU'],
      [1, 'ACK'],
    ]);
  });
});

describe('Hl7Analyzer evidence', () => {
  const flows = [mllp(ORU), mllp(ADT), bytes(ORU + ADT)];

  function run(evidence: 'none' | 'redacted' | 'full') {
    const events = [];
    for (const data of flows) {
      const h = harness(evidence);
      feedSplit(h, 0, data, []);
      // A truncated message too.
      const cut = harness(evidence);
      feedSplit(cut, 0, data.subarray(0, data.length - 30), []);
      events.push(...h.all, ...cut.all);
    }
    return events;
  }

  it('keeps every patient field out of redacted and none events', () => {
    for (const evidence of ['redacted', 'none'] as const) {
      const events = run(evidence);
      expect(events.length).toBeGreaterThanOrEqual(8);
      for (const event of events) {
        const json = JSON.stringify(event);
        for (const secret of PATIENT_STRINGS) expect(json).not.toContain(secret);
        expect(event).not.toHaveProperty('phi');
      }
    }
  });

  it('leaves out MSH-3, MSH-4 and MSH-10 in none mode', () => {
    const h = harness('none');
    feedSplit(h, 0, mllp(ORU), []);
    expect(h.events).toEqual([
      { ...ORU_EVENT, framing: 'mllp', sendingApplication: '', sendingFacility: '', controlId: '' },
    ]);
  });

  it('carries the message text in full mode', () => {
    const h = harness('full');
    feedSplit(h, 0, mllp(ORU), []);
    expect(h.events[0].phi?.text).toBe(ORU);
    const json = JSON.stringify(run('full'));
    for (const secret of PATIENT_STRINGS) expect(json).toContain(secret);
  });
});

describe('Hl7Analyzer properties', () => {
  const valid = concat(mllp(ORU), mllp(ADT), mllp(ACK));
  const validBare = bytes(ORU + ADT + message(['MSH|^~\\&|X|Y|||20240101||ACK|1|P|2.3', 'MSA|AA|1'], '\r\n'));

  it('never throws on random bytes, random gaps and random ends, and stays bounded', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('data' as const), dir: fc.constantFrom(0 as const, 1 as const), bytes: fc.uint8Array({ maxLength: 200 }) }),
      fc.record({ kind: fc.constant('hl7' as const), dir: fc.constantFrom(0 as const, 1 as const), from: fc.nat(valid.length), len: fc.nat(300) }),
      fc.record({ kind: fc.constant('gap' as const), dir: fc.constantFrom(0 as const, 1 as const), len: fc.nat(1000) }),
    );
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 30 }),
        fc.constantFrom('none' as const, 'redacted' as const, 'full' as const),
        fc.constantFrom('tcp' as const, 'udp' as const),
        (ops, evidence, transport) => {
          const h = harness(evidence, { maxMessageBytes: 256 }, transport);
          for (const o of ops) {
            if (h.analyzer.verdict === 'reject') break;
            if (o.kind === 'data') h.analyzer.data(o.dir, o.bytes);
            else if (o.kind === 'hl7') h.analyzer.data(o.dir, valid.subarray(o.from, o.from + o.len));
            else h.analyzer.gap(o.dir, o.len);
            expect(h.analyzer.bufferedBytes).toBeLessThanOrEqual(2 * Math.min(256, HEADER_CAP));
          }
          if (h.analyzer.verdict !== 'reject') h.analyzer.end();
          for (const e of h.events) expect(e.length).toBeLessThanOrEqual(256);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('gives the same events however a valid stream is split', () => {
    const whole = (data: Uint8Array) => {
      const h = harness('full');
      feedSplit(h, 0, data, []);
      return h.events;
    };
    const expected = [whole(valid), whole(validBare)];
    expect(expected[0].map((e) => e.controlId)).toEqual(['MSG00001', 'ADT00007', 'ACK00001']);
    expect(expected[1].map((e) => e.controlId)).toEqual(['MSG00001', 'ADT00007', '1']);
    fc.assert(
      fc.property(
        fc.constantFrom(0, 1),
        fc.array(fc.nat(validBare.length + 60), { maxLength: 40 }),
        (which, cuts) => {
          const data = which === 0 ? valid : validBare;
          const h = harness('full');
          feedSplit(h, 0, data, [...cuts].sort((a, b) => a - b));
          expect(h.events).toEqual(expected[which]);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('Hl7Analyzer on a direction picked up mid-stream (gap of length 0 before any data)', () => {
  const tail = bytes('OBX|2|NM|59408-5^Oxygen saturation^LN||98|%|90-100||||F\r\x1c\r');

  it('passes over the tail of a message it did not see begin and reports the next, marked midstream', () => {
    const h = harness();
    h.analyzer.gap(0, 0);
    h.analyzer.data(0, concat(tail, mllp(ORU)));
    h.analyzer.data(0, mllp(ADT));
    h.analyzer.end();
    expect(h.analyzer.verdict).toBe('match');
    expect(h.events.map((e) => [e.controlId, e.framing, e.incomplete])).toEqual([
      ['MSG00001', 'mllp', ['midstream']],
      ['ADT00007', 'mllp', ['midstream']],
    ]);
  });

  it('finds a bare message at a segment start after the tail of another', () => {
    const h = harness();
    h.analyzer.gap(0, 0);
    h.analyzer.data(0, bytes('|F\rOBX|3|NM|x||1\r' + ORU));
    h.analyzer.end();
    expect(h.events.map((e) => e.controlId)).toEqual(['MSG00001']);
  });

  it('takes a false start (0x0B or MSH that is no header) for what it is and keeps looking', () => {
    const h = harness();
    h.analyzer.gap(0, 0);
    h.analyzer.data(0, concat(Uint8Array.of(0x0b, 0x41, 0x42, 0x0d), bytes('\rMSH-not a header\r'), mllp(ORU)));
    h.analyzer.end();
    expect(h.events.map((e) => e.controlId)).toEqual(['MSG00001']);
  });

  it('rejects the direction once it passed over 64 KiB without a message', () => {
    const h = harness();
    h.analyzer.gap(0, 0);
    for (let i = 0; i < 70 && h.analyzer.verdict !== 'reject'; i++) h.analyzer.data(0, new Uint8Array(1024).fill(0x41));
    expect(h.analyzer.verdict).toBe('reject');
  });
});

describe('Hl7Analyzer: a header cut by a gap or the snap length', () => {
  it('counts a message whose MSH was cut after its encoding characters, with what of MSH-3.. was seen', () => {
    const h = harness();
    const frame = mllp(ORU);
    h.analyzer.data(0, frame.subarray(0, 1 + 'MSH|^~\\&|'.length + 3));
    h.analyzer.gap(0, frame.length - 13);
    h.analyzer.end();
    expect(h.analyzer.verdict).toBe('match');
    expect(h.events.map((e) => [e.messageType, e.truncated, e.incomplete, e.segments])).toEqual([['', true, ['gap'], ['MSH']]]);
  });

  it('does not count MSH cut inside its encoding characters', () => {
    const h = harness();
    h.analyzer.data(0, Uint8Array.of(0x0b, ...bytes('MSH|^~')));
    h.analyzer.gap(0, 300);
    h.analyzer.end();
    expect(h.events).toEqual([]);
    expect(h.analyzer.verdict).toBe('probing');
  });
});

describe('what an alert on a partly seen message shows', () => {
  it('lists in one `incomplete` what the capture did not show, and names a header of no standard type for what it is', async () => {
    const { hl7Protocol } = await import('../../src/analyzers/hl7/descriptor.js');
    const h = harness();
    h.analyzer.gap(0, 0);
    h.analyzer.data(0, Uint8Array.of(0x0d, ...mllp('MSH|^~\\&|MON|ICU|').subarray(0, 18)));
    h.analyzer.gap(0, 200);
    const [event] = h.events;
    const descriptor = hl7Protocol.events[0];
    expect(descriptor.eve(event, 'redacted', {})).toMatchObject({ hl7: { truncated: true, incomplete: ['truncated', 'gap', 'midstream'] } });
    expect(descriptor.text(event)).toBe('HL7 message of no standard type via MLLP, truncated, incomplete: gap,midstream');
  });
});
