import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AnalyzerContext, Direction, EvidenceMode } from '../../src/analyzers/analyzer.js';
import { createDicomAnalyzer, type DicomAnalyzer } from '../../src/analyzers/dicom/analyzer.js';
import type { DicomEvent } from '../../src/analyzers/dicom/events.js';
import { dicomProtocol } from '../../src/analyzers/dicom/descriptor.js';
import { uidName } from '../../src/analyzers/dicom/uids.js';
import {
  concat,
  DICOM_PDU,
  DICOM_UID,
  dicomAbort,
  dicomAssociateAc,
  dicomAssociateRj,
  dicomAssociateRq,
  dicomAssociateRqItems,
  dicomCStoreRq,
  dicomCStoreRsp,
  dicomItem,
  dicomMessage,
  dicomPData,
  dicomPdu,
  dicomReleaseRp,
  dicomReleaseRq,
  lpdCommand,
  mllp,
  Prng,
} from '../../tools/craft/index.js';

const TO_SERVER: Direction = 0;
const TO_CLIENT: Direction = 1;

interface Run {
  analyzer: DicomAnalyzer;
  events: DicomEvent[];
  anomalies: string[];
}

function start(evidence: EvidenceMode = 'redacted'): Run {
  const events: DicomEvent[] = [];
  const anomalies: string[] = [];
  const ctx: AnalyzerContext = {
    flow: { transport: 'tcp', clientPort: 50123, serverPort: 104 },
    evidence,
    emit: (e) => events.push(e as unknown as DicomEvent),
    expect: () => undefined,
    anomaly: (name) => anomalies.push(name),
  };
  return { analyzer: createDicomAnalyzer(ctx), events, anomalies };
}

type Step = [Direction, Uint8Array];

/** Feeds each step in `chunk`-byte pieces, then ends the flow. */
function play(steps: Step[], options: { chunk?: number; evidence?: EvidenceMode; end?: boolean } = {}): Run {
  const run = start(options.evidence);
  const chunk = options.chunk ?? Infinity;
  for (const [dir, data] of steps) {
    for (let at = 0; at < data.length; at += chunk) {
      if (run.analyzer.verdict === 'reject') break;
      run.analyzer.data(dir, data.subarray(at, at + chunk));
    }
  }
  if (options.end !== false) run.analyzer.end();
  return run;
}

const ofType = <T extends DicomEvent['type']>(run: Run, type: T): Array<Extract<DicomEvent, { type: T }>> =>
  run.events.filter((e): e is Extract<DicomEvent, { type: T }> => e.type === type);

const RQ_OPTIONS = {
  calledAeTitle: 'PACS_EXT',
  callingAeTitle: 'CT_SCANNER',
  contexts: [
    { id: 1, abstractSyntax: DICOM_UID.ctImageStorage, transferSyntaxes: [DICOM_UID.explicitVrLittleEndian, DICOM_UID.implicitVrLittleEndian] },
    { id: 3, abstractSyntax: DICOM_UID.studyRootMove, transferSyntaxes: [DICOM_UID.implicitVrLittleEndian] },
    { id: 5, abstractSyntax: '1.2.826.0.1.3680043.2.1143.99', transferSyntaxes: [DICOM_UID.implicitVrLittleEndian] },
  ],
  maxPduLength: 16384,
  implementationClassUid: '1.2.826.0.1.3680043.9.7433',
  implementationVersion: 'SCANNER_OS_4',
};
const RQ = dicomAssociateRq(RQ_OPTIONS);
const AC = dicomAssociateAc({
  calledAeTitle: 'PACS_EXT',
  callingAeTitle: 'CT_SCANNER',
  contexts: [
    { id: 1, result: 0, transferSyntax: DICOM_UID.explicitVrLittleEndian },
    { id: 3, result: 0, transferSyntax: DICOM_UID.implicitVrLittleEndian },
    { id: 5, result: 3, transferSyntax: DICOM_UID.implicitVrLittleEndian },
  ],
  maxPduLength: 32768,
  implementationClassUid: '1.2.40.0.13.1.3',
  implementationVersion: 'PACS_3',
});
const INSTANCE = { messageId: 1, sopClassUid: DICOM_UID.ctImageStorage, sopInstanceUid: '1.2.826.0.1.3680043.9.7433.1.1' };
/** Bytes that would read as PDU headers if fragments were not skipped by count. */
const DATASET = Buffer.from(Array.from({ length: 40_000 }, (_, k) => [0x07, 0x00, 0x00, 0x00, 0x00, 0x04][k % 6]));
const STORE = [...dicomMessage(1, true, dicomCStoreRq(INSTANCE)), ...dicomMessage(1, false, DATASET)];
const STORE_RSP = dicomMessage(1, true, dicomCStoreRsp(INSTANCE));

/** A modality's whole association: request, accept, one C-STORE and its response, release. */
function session(): Step[] {
  return [
    [TO_SERVER, RQ],
    [TO_CLIENT, AC],
    ...STORE.map((p): Step => [TO_SERVER, p]),
    ...STORE_RSP.map((p): Step => [TO_CLIENT, p]),
    [TO_SERVER, dicomReleaseRq()],
    [TO_CLIENT, dicomReleaseRp()],
  ];
}

const declared = new Set(dicomProtocol.anomalies);

describe('DICOM association', () => {
  it('reports the A-ASSOCIATE-RQ with AE titles, SOP classes by name and the requester details', () => {
    const run = play([[TO_SERVER, RQ]]);
    expect(run.analyzer.verdict).toBe('match');
    expect(ofType(run, 'dicom.association')).toEqual([
      {
        type: 'dicom.association',
        proto: 'dicom',
        dir: TO_SERVER,
        calledAeTitle: 'PACS_EXT',
        callingAeTitle: 'CT_SCANNER',
        abstractSyntaxes: ['CT Image Storage', 'Study Root Q/R MOVE', '1.2.826.0.1.3680043.2.1143.99'],
        abstractSyntaxUids: [DICOM_UID.ctImageStorage, DICOM_UID.studyRootMove, '1.2.826.0.1.3680043.2.1143.99'],
        transferSyntaxes: ['Explicit VR Little Endian', 'Implicit VR Little Endian'],
        applicationContext: 'DICOM Application Context',
        implementationClassUid: '1.2.826.0.1.3680043.9.7433',
        implementationVersion: 'SCANNER_OS_4',
        maxPduLength: 16384,
      },
    ]);
    expect(run.anomalies).toEqual([]);
  });

  it('trims AE titles of spaces and NUL padding', () => {
    const rq = Buffer.from(RQ);
    rq.write('\0\0PACS\0\0\0\0\0\0\0\0\0\0', 10, 'latin1');
    rq.write('  CT ONE        ', 26, 'latin1');
    const [event] = ofType(play([[TO_SERVER, rq]]), 'dicom.association');
    expect(event.calledAeTitle).toBe('PACS');
    expect(event.callingAeTitle).toBe('CT ONE');
  });

  it('does not take a request with a control byte in an AE title for DICOM, and once DICOM shows it as ?', () => {
    const rq = Buffer.from(RQ);
    rq.write('CT\x7fONE'.padEnd(16, ' '), 26, 'latin1');
    expect(play([[TO_SERVER, rq]], { end: false }).analyzer.verdict).toBe('reject');
    const run = play([[TO_SERVER, RQ], [TO_SERVER, rq]]);
    expect(ofType(run, 'dicom.association').map((e) => e.callingAeTitle)).toEqual(['CT_SCANNER', 'CT?ONE']);
    expect(run.anomalies).toEqual(['dicom.malformed_associate']);
  });

  it('maps the accepted contexts of the A-ASSOCIATE-AC to the abstract syntaxes the request proposed', () => {
    const run = play([
      [TO_SERVER, RQ],
      [TO_CLIENT, AC],
    ]);
    expect(ofType(run, 'dicom.accepted')).toEqual([
      {
        type: 'dicom.accepted',
        proto: 'dicom',
        dir: TO_CLIENT,
        calledAeTitle: 'PACS_EXT',
        callingAeTitle: 'CT_SCANNER',
        abstractSyntaxes: ['CT Image Storage', 'Study Root Q/R MOVE'],
        abstractSyntaxUids: [DICOM_UID.ctImageStorage, DICOM_UID.studyRootMove],
        transferSyntaxes: ['Explicit VR Little Endian', 'Implicit VR Little Endian'],
        acceptedContexts: 2,
        rejectedContexts: 1,
        implementationClassUid: '1.2.40.0.13.1.3',
        implementationVersion: 'PACS_3',
        maxPduLength: 32768,
      },
    ]);
  });

  it('identifies a flow seen from its A-ASSOCIATE-AC on, counting contexts it cannot name', () => {
    const run = play([[TO_CLIENT, AC]]);
    expect(run.analyzer.verdict).toBe('match');
    expect(ofType(run, 'dicom.accepted')).toHaveLength(1);
    expect(ofType(run, 'dicom.accepted')[0]).toMatchObject({ abstractSyntaxes: [], acceptedContexts: 2, rejectedContexts: 1 });
    expect(ofType(run, 'dicom.summary')[0]).toMatchObject({ associations: 0 });
  });

  it('reports an A-ASSOCIATE-RJ as words', () => {
    const run = play([
      [TO_SERVER, RQ],
      [TO_CLIENT, dicomAssociateRj({ result: 1, source: 1, reason: 7 })],
    ]);
    expect(ofType(run, 'dicom.rejected')).toEqual([
      { type: 'dicom.rejected', proto: 'dicom', dir: TO_CLIENT, result: 'rejected-permanent', source: 'service-user', reason: 'called-ae-title-not-recognized' },
    ]);
    const transient = play([
      [TO_SERVER, RQ],
      [TO_CLIENT, dicomAssociateRj({ result: 2, source: 3, reason: 1 })],
    ]);
    expect(ofType(transient, 'dicom.rejected')[0]).toMatchObject({ result: 'rejected-transient', source: 'service-provider-presentation', reason: 'temporary-congestion' });
  });

  it('reports release and abort', () => {
    const released = play(session());
    expect(ofType(released, 'dicom.release').map((e) => [e.dir, e.phase])).toEqual([
      [TO_SERVER, 'request'],
      [TO_CLIENT, 'reply'],
    ]);
    const aborted = play([
      [TO_SERVER, RQ],
      [TO_CLIENT, dicomAbort({ source: 2, reason: 2 })],
      [TO_SERVER, dicomAbort({ source: 0 })],
    ]);
    expect(ofType(aborted, 'dicom.abort')).toEqual([
      { type: 'dicom.abort', proto: 'dicom', dir: TO_CLIENT, source: 'service-provider', reason: 'unexpected-pdu' },
      { type: 'dicom.abort', proto: 'dicom', dir: TO_SERVER, source: 'service-user' },
    ]);
  });

  it('sums up P-DATA volume per direction at the end of the flow', () => {
    const run = play(session());
    const bytes = (pdus: Buffer[]): number => pdus.reduce((sum, p) => sum + p.length, 0);
    expect(ofType(run, 'dicom.summary')).toEqual([
      {
        type: 'dicom.summary',
        proto: 'dicom',
        dir: TO_SERVER,
        associations: 1,
        toServer: { pdus: STORE.length, bytes: bytes(STORE), pdvs: STORE.length, commandFragments: 1, datasetFragments: STORE.length - 1 },
        toClient: { pdus: 1, bytes: bytes(STORE_RSP), pdvs: 1, commandFragments: 1, datasetFragments: 0 },
      },
    ]);
    expect(STORE.length).toBeGreaterThan(2);
    expect(run.anomalies).toEqual([]);
  });

  it('counts several PDVs in one P-DATA-TF', () => {
    const pdata = dicomPData([
      { contextId: 1, command: true, last: true, data: Buffer.alloc(10) },
      { contextId: 1, command: false, last: false, data: Buffer.alloc(100) },
      { contextId: 1, command: false, last: true, data: Buffer.alloc(0) },
    ]);
    const [summary] = ofType(play([[TO_SERVER, RQ], [TO_SERVER, pdata]]), 'dicom.summary');
    expect(summary.toServer).toEqual({ pdus: 1, bytes: pdata.length, pdvs: 3, commandFragments: 1, datasetFragments: 2 });
  });

  it('keeps AE titles and implementation details out in the none evidence mode', () => {
    const run = play(session(), { evidence: 'none' });
    const [association] = ofType(run, 'dicom.association');
    expect(association).toEqual({
      type: 'dicom.association',
      proto: 'dicom',
      dir: TO_SERVER,
      abstractSyntaxes: ['CT Image Storage', 'Study Root Q/R MOVE', '1.2.826.0.1.3680043.2.1143.99'],
      abstractSyntaxUids: [DICOM_UID.ctImageStorage, DICOM_UID.studyRootMove, '1.2.826.0.1.3680043.2.1143.99'],
      transferSyntaxes: ['Explicit VR Little Endian', 'Implicit VR Little Endian'],
      maxPduLength: 16384,
    });
    expect(JSON.stringify(run.events)).not.toMatch(/PACS_EXT|CT_SCANNER|SCANNER_OS|1\.2\.826\.0\.1\.3680043\.9\.7433"/);
    expect(ofType(run, 'dicom.summary')).toEqual([{ type: 'dicom.summary', proto: 'dicom', dir: TO_SERVER }]);
  });
});

describe('DICOM P-DATA is counted, never kept', () => {
  it('follows a 50 MB C-STORE with a few hundred bytes held', () => {
    const run = start();
    run.analyzer.data(TO_SERVER, RQ);
    const fragment = 65536;
    const pdu = dicomPData([{ contextId: 1, command: false, last: false, data: Buffer.alloc(fragment, 0x01) }]);
    const pdus = 800;
    let held = 0;
    for (let k = 0; k < pdus; k++) {
      // Split inside the PDV header and inside the fragment, as TCP segments would.
      run.analyzer.data(TO_SERVER, pdu.subarray(0, 9));
      run.analyzer.data(TO_SERVER, pdu.subarray(9, 30_000));
      run.analyzer.data(TO_SERVER, pdu.subarray(30_000));
      held = Math.max(held, run.analyzer.bufferedBytes);
    }
    run.analyzer.data(TO_SERVER, dicomReleaseRq());
    run.analyzer.end();
    expect(pdus * pdu.length).toBeGreaterThan(50_000_000);
    expect(held).toBeLessThanOrEqual(1024);
    expect(ofType(run, 'dicom.summary')[0].toServer).toEqual({ pdus, bytes: pdus * pdu.length, pdvs: pdus, commandFragments: 0, datasetFragments: pdus });
    expect(ofType(run, 'dicom.release')).toHaveLength(1);
  });

  it('keeps an association PDU bigger than its cap to the cap and reports it truncated', () => {
    const filler = Array.from({ length: 700 }, (_, k) => ({ id: 1 + ((2 * k) % 254), abstractSyntax: `1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20.21.22.23.24.${k}`, transferSyntaxes: Array(3).fill(DICOM_UID.implicitVrLittleEndian) }));
    const big = dicomAssociateRq({ ...RQ_OPTIONS, contexts: [...RQ_OPTIONS.contexts, ...filler] });
    expect(big.length).toBeGreaterThan(64 * 1024 + 6);
    const run = start();
    run.analyzer.data(TO_SERVER, big);
    run.analyzer.data(TO_SERVER, dicomReleaseRq());
    expect(run.analyzer.bufferedBytes).toBeLessThanOrEqual(64 * 1024);
    const [association] = ofType(run, 'dicom.association');
    expect(association.truncated).toBe(true);
    expect(association.abstractSyntaxes.slice(0, 2)).toEqual(['CT Image Storage', 'Study Root Q/R MOVE']);
    expect(run.anomalies).toContain('dicom.associate_pdu_truncated');
    expect(ofType(run, 'dicom.release')).toHaveLength(1);
  });
});

describe('DICOM byte boundaries', () => {
  const whole = play(session());

  it('gives the same events whichever byte boundary each PDU is split at', () => {
    const steps = session();
    let runs = 0;
    steps.forEach(([dir, bytes], s) => {
      // Every boundary of the association PDUs; of the long P-DATA-TF, the headers, the ends and a sample between.
      const cuts = Array.from({ length: bytes.length - 1 }, (_, k) => k + 1).filter((cut) => bytes.length <= 2000 || cut <= 24 || cut >= bytes.length - 24 || cut % 97 === 0);
      for (const cut of cuts) {
        const split: Step[] = [...steps.slice(0, s), [dir, bytes.subarray(0, cut)], [dir, bytes.subarray(cut)], ...steps.slice(s + 1)];
        expect(play(split).events, `step ${s} cut at ${cut}`).toEqual(whole.events);
        runs++;
      }
    });
    expect(runs).toBeGreaterThan(1000);
  });

  it('gives the same events fed one byte at a time', () => {
    const run = play(session(), { chunk: 1 });
    expect(run.events).toEqual(whole.events);
  });
});

describe('DICOM length lies and truncation', () => {
  it('reports an item length past the PDU as truncation and keeps the items before it', () => {
    const items = dicomAssociateRqItems(RQ_OPTIONS);
    const fixed = RQ.subarray(6, 6 + 68);
    // The second presentation context claims 0x4000 bytes.
    const appContextLength = 4 + items.readUInt16BE(2);
    const first = 4 + items.readUInt16BE(appContextLength + 2);
    const at = appContextLength + first;
    const lying = Buffer.from(items);
    lying.writeUInt16BE(0x4000, at + 2);
    const run = play([[TO_SERVER, dicomPdu(DICOM_PDU.associateRq, concat(fixed, lying))]]);
    const [association] = ofType(run, 'dicom.association');
    expect(association.truncated).toBe(true);
    expect(association.abstractSyntaxes).toEqual(['CT Image Storage']);
    expect(association.maxPduLength).toBeUndefined();
    expect(run.anomalies).toEqual(['dicom.bad_item_length']);
  });

  it('reports a sub-item longer than its item and reads the items after it', () => {
    const context = dicomItem(0x20, concat(Buffer.from([1, 0, 0, 0]), dicomItem(0x30, DICOM_UID.ctImageStorage, 200)));
    const items = concat(dicomItem(0x10, DICOM_UID.applicationContext), context, dicomItem(0x50, dicomItem(0x51, Buffer.from([0, 0, 0x40, 0]))));
    const run = play([[TO_SERVER, dicomPdu(DICOM_PDU.associateRq, concat(RQ.subarray(6, 74), items))]]);
    const [association] = ofType(run, 'dicom.association');
    expect(association.maxPduLength).toBe(16384);
    expect(association.abstractSyntaxes).toEqual([]);
    expect(run.anomalies).toEqual(['dicom.bad_item_length']);
  });

  it('rejects a flow opening with a PDU length of 0xFFFFFFFF, and after a match resynchronises past one', () => {
    const lie = dicomPdu(DICOM_PDU.associateRq, RQ.subarray(6), 0xffffffff);
    expect(dicomProtocol.analyzer!.mayAccept!(lie, 'tcp')).toBe(false);
    const opening = play([[TO_SERVER, lie]], { end: false });
    expect(opening.analyzer.verdict).toBe('reject');
    expect(opening.events).toEqual([]);

    const run = play([
      [TO_SERVER, RQ],
      [TO_SERVER, dicomPdu(DICOM_PDU.pData, Buffer.alloc(20), 0xffffffff)],
      [TO_SERVER, dicomReleaseRq()],
    ]);
    expect(run.anomalies).toEqual(['dicom.pdu_length_too_large']);
    expect(ofType(run, 'dicom.release')).toHaveLength(1);
  });

  it('rejects a PDU length shorter than the fixed fields as an opening, and after a match skips it by its length', () => {
    const short = dicomPdu(DICOM_PDU.associateRq, RQ.subarray(6, 16));
    expect(play([[TO_SERVER, short]], { end: false }).analyzer.verdict).toBe('reject');
    const run = play([
      [TO_SERVER, RQ],
      [TO_SERVER, short],
      [TO_SERVER, dicomPdu(DICOM_PDU.pData, Buffer.alloc(3))],
      [TO_SERVER, dicomReleaseRq()],
    ]);
    expect(run.anomalies).toEqual(['dicom.pdu_too_short', 'dicom.pdu_too_short']);
    expect(ofType(run, 'dicom.association')).toHaveLength(1);
    expect(ofType(run, 'dicom.release')).toHaveLength(1);
  });

  it('counts a PDV that does not fit its PDU and reads the next PDU', () => {
    const pdata = Buffer.from(dicomPData([{ contextId: 1, command: false, last: true, data: Buffer.alloc(50) }]));
    pdata.writeUInt32BE(5000, 6);
    const run = play([[TO_SERVER, RQ], [TO_SERVER, pdata], [TO_SERVER, dicomReleaseRq()]]);
    expect(run.anomalies).toEqual(['dicom.bad_pdv_length']);
    expect(ofType(run, 'dicom.summary')[0].toServer).toMatchObject({ pdus: 1, bytes: pdata.length, pdvs: 0 });
    expect(ofType(run, 'dicom.release')).toHaveLength(1);
  });

  it('counts an unknown PDU type and finds the next header', () => {
    const run = play([[TO_SERVER, RQ], [TO_SERVER, dicomPdu(0x09, Buffer.alloc(8))], [TO_SERVER, dicomReleaseRq()]]);
    expect(run.anomalies).toEqual(['dicom.unknown_pdu_type']);
    expect(ofType(run, 'dicom.release')).toHaveLength(1);
  });

  it('still reports an A-ASSOCIATE-RQ cut by the end of the flow, as truncated', () => {
    const run = play([[TO_SERVER, RQ.subarray(0, RQ.length - 40)]]);
    expect(run.analyzer.verdict).toBe('match');
    const [association] = ofType(run, 'dicom.association');
    expect(association).toMatchObject({ callingAeTitle: 'CT_SCANNER', abstractSyntaxes: ['CT Image Storage', 'Study Root Q/R MOVE', '1.2.826.0.1.3680043.2.1143.99'], truncated: true });
    expect(run.anomalies).toEqual(['dicom.truncated_pdu']);
    expect(ofType(run, 'dicom.summary')).toHaveLength(1);
  });

  it('counts a P-DATA-TF cut by the end of the flow by the bytes seen', () => {
    const pdu = STORE[1];
    const run = play([[TO_SERVER, RQ], [TO_SERVER, pdu.subarray(0, 1000)]]);
    expect(run.anomalies).toEqual(['dicom.truncated_pdu']);
    expect(ofType(run, 'dicom.summary')[0].toServer).toMatchObject({ pdus: 1, bytes: 1000, pdvs: 1 });
  });

  it('holds PDV framing across a gap inside a fragment, and resynchronises after one across PDUs', () => {
    const run = start();
    run.analyzer.data(TO_SERVER, RQ);
    const twoPdvs = dicomPData([
      { contextId: 1, command: false, last: false, data: DATASET.subarray(0, 3000) },
      { contextId: 1, command: false, last: true, data: DATASET.subarray(0, 500) },
    ]);
    run.analyzer.data(TO_SERVER, twoPdvs.subarray(0, 100));
    run.analyzer.gap(TO_SERVER, 1000);
    run.analyzer.data(TO_SERVER, twoPdvs.subarray(1100));
    run.analyzer.data(TO_SERVER, STORE[2].subarray(0, 50));
    run.analyzer.gap(TO_SERVER, STORE[2].length - 50 + 30);
    run.analyzer.data(TO_SERVER, STORE[3].subarray(30));
    run.analyzer.data(TO_SERVER, dicomReleaseRq());
    run.analyzer.end();
    expect(run.anomalies).toEqual([]);
    // Both PDVs of the first PDU; the second PDU was cut by the gap and the third was lost to the resync.
    expect(ofType(run, 'dicom.summary')[0].toServer).toMatchObject({ pdus: 2, pdvs: 3, bytes: twoPdvs.length - 1000 + 50 });
    expect(ofType(run, 'dicom.release')).toHaveLength(1);
  });

  it('never throws on random bytes or on broken sessions, and holds little', () => {
    const sessionBytes = concat(...session().map(([, b]) => b));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ minLength: 1, maxLength: 400 }),
          fc
            .record({ keep: fc.integer({ min: 1, max: 3000 }), writes: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }) })
            .map(({ keep, writes }) => {
              const b = Uint8Array.from(sessionBytes.subarray(0, keep));
              for (const [at, value] of writes) b[at % b.length] = value;
              return b;
            }),
        ),
        fc.integer({ min: 1, max: 64 }),
        fc.constantFrom<Direction>(TO_SERVER, TO_CLIENT),
        (bytes, chunk, dir) => {
          const run = play([[dir, bytes], [dir === TO_SERVER ? TO_CLIENT : TO_SERVER, bytes]], { chunk });
          expect(run.analyzer.bufferedBytes).toBeLessThanOrEqual(2 * 64 * 1024);
          for (const name of run.anomalies) expect(declared.has(name.slice('dicom.'.length))).toBe(true);
          if (run.analyzer.verdict !== 'match') expect(run.events).toEqual([]);
        },
      ),
      { numRuns: 1500, seed: 0x0d1c0 },
    );
  });

  it('does not take random bytes for DICOM', () => {
    const prng = new Prng(104);
    let matched = 0;
    for (let k = 0; k < 2000; k++) {
      const run = play([[TO_SERVER, prng.bytes(prng.int(1, 600))]]);
      if (run.analyzer.verdict === 'match') matched++;
    }
    expect(matched).toBe(0);
  });
});

describe('DICOM recognition', () => {
  const glance = (bytes: Uint8Array): boolean => dicomProtocol.analyzer!.mayAccept!(bytes, 'tcp');
  const others: Record<string, Uint8Array> = {
    'HL7 over MLLP': mllp('MSH|^~\\&|CMS8000|ICU3|HIS|GENERAL|20250130100001||ORU^R01|1|P|2.3\r'),
    'HTTP request': Buffer.from('GET /wado?studyUID=1.2.3 HTTP/1.1\r\nHost: pacs\r\n\r\n'),
    'TLS client hello': Uint8Array.of(0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, ...Array(32).fill(0x5a)),
    'LPD receive-job': lpdCommand(0x02, 'lp'),
    'LPD print-jobs': lpdCommand(0x01, 'lp'),
    'CMS8000 bed block': Uint8Array.of(0x06, 0x00, 0x05, 0x45, 0, 0, 3, 0xff),
  };

  it('rules out other protocols at a glance, and rejects them on their first bytes', () => {
    for (const [name, bytes] of Object.entries(others)) {
      expect(glance(bytes), name).toBe(false);
      for (const dir of [TO_SERVER, TO_CLIENT]) expect(play([[dir, bytes]], { end: false }).analyzer.verdict, name).toBe('reject');
    }
  });

  it('lets the openings of DICOM flows through the glance', () => {
    expect(glance(RQ)).toBe(true);
    expect(glance(AC)).toBe(true);
    expect(glance(STORE[1])).toBe(true);
    expect(glance(RQ.subarray(0, 3))).toBe(true);
    expect(dicomProtocol.analyzer!.mayAccept!(RQ, 'udp')).toBe(false);
  });

  it('rules a flow out at a glance only when the analyzer, given the same bytes first, would reject it', () => {
    const openings = [RQ, AC, STORE[0], dicomReleaseRq()];
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ minLength: 1, maxLength: 96 }),
          fc
            .record({
              opening: fc.constantFrom(...openings),
              keep: fc.integer({ min: 1, max: 80 }),
              writes: fc.array(fc.tuple(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
            })
            .map(({ opening, keep, writes }) => {
              const b = Uint8Array.from(opening.subarray(0, keep));
              for (const [at, value] of writes) b[at % b.length] = value;
              return b;
            }),
        ),
        fc.constantFrom<Direction>(TO_SERVER, TO_CLIENT),
        (b, dir) => {
          if (glance(b)) return;
          const run = start();
          run.analyzer.data(dir, b);
          expect(run.analyzer.verdict).toBe('reject');
        },
      ),
      { numRuns: 3000, seed: 11112 },
    );
  });

  it('identifies a P-DATA stream seen mid-stream after two sound PDUs', () => {
    const one = play([[TO_SERVER, STORE[1]]], { end: false });
    expect(one.analyzer.verdict).toBe('probing');
    const two = play([[TO_SERVER, STORE[1]], [TO_SERVER, STORE[2]]], { end: false });
    expect(two.analyzer.verdict).toBe('match');
  });

  it("reads the client's association when the server spoke first with bytes that are not DICOM", () => {
    // Looks like a P-DATA-TF and an empty PDV for 12 bytes, then a PDV claims more than the PDU holds.
    const banner = concat(Buffer.from([0x04, 0, 0, 0, 0, 46, 0, 0, 0, 2, 1, 2, 0, 0, 0x03, 0xe8, 1, 0]), Buffer.from('READY\r\n'));
    expect(glance(banner)).toBe(true);
    const run = play([[TO_CLIENT, banner], [TO_SERVER, RQ], [TO_CLIENT, AC], [TO_SERVER, dicomReleaseRq()]], { end: false });
    expect(run.analyzer.verdict).toBe('match');
    expect(ofType(run, 'dicom.association')).toHaveLength(1);
    // The server's own PDUs are read again from its next header on.
    expect(ofType(run, 'dicom.accepted')).toHaveLength(1);
  });

  it("rejects the flow when the client's bytes are not DICOM, whatever the server sent", () => {
    const run = play([[TO_CLIENT, AC.subarray(0, 40)], [TO_SERVER, Buffer.from('HELO pacs\r\n')]], { end: false });
    expect(run.analyzer.verdict).toBe('reject');
  });

  it('rejects within the first bytes of common protocols', () => {
    const run = start();
    run.analyzer.data(TO_SERVER, Buffer.from('G'));
    expect(run.analyzer.verdict).toBe('reject');
  });
});

describe('the DICOM protocol descriptor', () => {
  const run = play(session());
  const byType = new Map(dicomProtocol.events.map((d) => [d.type, d]));
  const aborted = play([[TO_SERVER, RQ], [TO_CLIENT, dicomAbort({ source: 2, reason: 6 })]]);
  const rejected = play([[TO_SERVER, RQ], [TO_CLIENT, dicomAssociateRj({ result: 1, source: 2, reason: 2 })]]);
  const all = [...run.events, ...aborted.events, ...rejected.events];

  it('describes every event the analyzer reports, with a field entry for each of its keys', () => {
    expect([...byType.keys()].sort()).toEqual(['dicom.abort', 'dicom.accepted', 'dicom.association', 'dicom.rejected', 'dicom.release', 'dicom.summary']);
    expect(new Set(all.map((e) => e.type)).size).toBe(6);
    for (const event of all) {
      const fields = Object.keys(byType.get(event.type)!.fields);
      for (const key of Object.keys(event)) if (!['type', 'proto', 'dir'].includes(key)) expect(fields, event.type).toContain(key);
      expect(byType.get(event.type)!.proves!(event)).toBe('dicom');
    }
  });

  it('renders the association in text and EVE', () => {
    const [association] = ofType(run, 'dicom.association');
    const d = byType.get('dicom.association')!;
    expect(d.text(association)).toBe('DICOM association CT_SCANNER -> PACS_EXT (CT Image Storage, Study Root Q/R MOVE, 1.2.826.0.1.3680043.2.1143.99)');
    expect(d.eve(association, 'redacted', {})).toEqual({
      dicom: {
        event: 'association',
        called_ae_title: 'PACS_EXT',
        calling_ae_title: 'CT_SCANNER',
        application_context: 'DICOM Application Context',
        abstract_syntaxes: ['CT Image Storage', 'Study Root Q/R MOVE', '1.2.826.0.1.3680043.2.1143.99'],
        abstract_syntax_uids: [DICOM_UID.ctImageStorage, DICOM_UID.studyRootMove, '1.2.826.0.1.3680043.2.1143.99'],
        transfer_syntaxes: ['Explicit VR Little Endian', 'Implicit VR Little Endian'],
        implementation_class_uid: '1.2.826.0.1.3680043.9.7433',
        implementation_version: 'SCANNER_OS_4',
        max_pdu_length: 16384,
        truncated: false,
      },
    });
    expect(d.names!(association)).toEqual([
      { host: 'client', name: 'CT_SCANNER' },
      { host: 'server', name: 'PACS_EXT' },
    ]);
  });

  it('renders the other events in a few words', () => {
    const text = (e: DicomEvent): string => byType.get(e.type)!.text(e);
    expect(text(ofType(run, 'dicom.accepted')[0])).toBe('DICOM association accepted by PACS_EXT (CT Image Storage, Study Root Q/R MOVE, 1 context rejected)');
    expect(byType.get('dicom.accepted')!.names!(ofType(run, 'dicom.accepted')[0])).toEqual([{ host: 'server', name: 'PACS_EXT' }]);
    expect(ofType(run, 'dicom.release').map(text)).toEqual(['DICOM release request', 'DICOM release reply']);
    expect(text(ofType(aborted, 'dicom.abort')[0])).toBe('DICOM abort by service-provider (invalid-pdu-parameter-value)');
    expect(text(ofType(rejected, 'dicom.rejected')[0])).toBe('DICOM association rejected: rejected-permanent by service-provider-acse (protocol-version-not-supported)');
    const summary = ofType(run, 'dicom.summary')[0];
    expect(text(summary)).toMatch(/^DICOM 1 association, P-DATA to server \d+ PDUs \d+ bytes, to client 1 PDUs \d+ bytes$/);
    expect(byType.get('dicom.summary')!.eve(summary, 'redacted', {})).toEqual({
      dicom: {
        event: 'summary',
        associations: 1,
        to_server: { pdus: summary.toServer!.pdus, bytes: summary.toServer!.bytes, pdvs: summary.toServer!.pdvs, command_fragments: 1, dataset_fragments: summary.toServer!.pdvs - 1 },
        to_client: { pdus: 1, bytes: summary.toClient!.bytes, pdvs: 1, command_fragments: 1, dataset_fragments: 0 },
      },
    });
  });

  it('names the common SOP classes and transfer syntaxes and shows others as the UID', () => {
    expect(uidName('1.2.840.10008.1.1')).toBe('Verification');
    expect(uidName('1.2.840.10008.5.1.4.31')).toBe('Modality Worklist FIND');
    expect(uidName('1.2.840.10008.5.1.4.1.1.104.1')).toBe('Encapsulated PDF Storage');
    expect(uidName('1.2.840.10008.1.2.4.50')).toBe('JPEG Baseline');
    expect(uidName('1.2.840.10008.1.2.4.90')).toBe('JPEG 2000 Lossless');
    expect(uidName('1.2.3.4')).toBe('1.2.3.4');
  });
});
