import { describe, expect, it } from 'vitest';
import type { Alert, FlowRecord } from '../../src/detect/alert.js';
import type { CompiledRule } from '../../src/detect/rule.js';
import { Flow, type FlowEndReason, TcpState } from '../../src/flow/flow.js';
import { alertMessage, FlowRecordPacker, restoreAlert, unpackFlowRecords } from '../../src/pipeline/worker-messages.js';
import { Prng } from '../../tools/craft/prng.js';

/** The fields of a flow that reach outputs, as plain data to compare. */
function outputFields(f: Flow): Record<string, unknown> {
  return {
    id: f.id, hash: f.hash, ipVersion: f.ipVersion, proto: f.proto, addr: [...f.addr], clientWord: f.clientWord, serverWord: f.serverWord,
    clientPort: f.clientPort, serverPort: f.serverPort, vlanIds: [...f.vlanIds], vlanCount: f.vlanCount, clientMac: f.clientMac, serverMac: f.serverMac,
    startSec: f.startSec, startNsec: f.startNsec, lastSec: f.lastSec, lastNsec: f.lastNsec,
    packetsToServer: f.packetsToServer, packetsToClient: f.packetsToClient, bytesToServer: f.bytesToServer, bytesToClient: f.bytesToClient,
    tcpState: f.tcpState, tcpFlagsToServer: f.tcpFlagsToServer, tcpFlagsToClient: f.tcpFlagsToClient, midstream: f.midstream,
    appProto: f.appProto, speakers: f.speakers,
  };
}

const word = (rng: Prng) => rng.uint32();

/** A flow with every exported field set from the generator, at the edges of its range where it has them. */
function randomFlow(rng: Prng, n: number): Flow {
  const f = new Flow();
  f.id = 2 ** 51 - 1 - n; // the largest ids must come back exact
  f.hash = word(rng);
  f.ipVersion = rng.int(0, 1) === 0 ? 4 : 6;
  f.proto = rng.pick([6, 17, 1, 58, 132]);
  for (let i = 0; i < 8; i++) f.addr[i] = word(rng);
  f.clientWord = f.addr[0];
  f.serverWord = f.addr[4];
  f.clientPort = rng.int(0, 65_535);
  f.serverPort = rng.int(0, 65_535);
  f.vlanCount = rng.int(0, 2);
  for (let i = 0; i < f.vlanCount; i++) f.vlanIds[i] = rng.int(0, 4_095);
  f.clientMac = word(rng) * 0x10000 + rng.int(0, 0xffff);
  f.serverMac = 0xffffffffffff;
  f.startSec = 1_700_000_000 + rng.int(0, 999_999);
  f.startNsec = rng.int(0, 999_999_999);
  f.lastSec = f.startSec + rng.int(0, 99_999);
  f.lastNsec = 999_999_999;
  f.packetsToServer = rng.int(0, 999_999);
  f.packetsToClient = rng.int(0, 999_999);
  f.bytesToServer = 2 ** 40 + rng.int(0, 999); // beyond 32 bits
  f.bytesToClient = rng.int(0, 999_999_999);
  f.tcpState = rng.pick([TcpState.None, TcpState.Established, TcpState.Closed]);
  f.tcpFlagsToServer = rng.int(0, 255);
  f.tcpFlagsToClient = rng.int(0, 255);
  f.midstream = rng.int(0, 1) === 1;
  f.appProto = rng.pick(['', 'hl7', 'nfs', 'dicom']);
  return f;
}

const REASONS: FlowEndReason[] = ['timeout', 'closed', 'evicted', 'end-of-input', 'reused'];

describe('flow records between threads', () => {
  it('come back field for field and in order, with speakers and rule matches on the records that had them', () => {
    const rng = new Prng(7);
    const packer = new FlowRecordPacker();
    const sent: Array<{ fields: Record<string, unknown>; reason: FlowEndReason; ruleMatches: Array<[number, number]>; alerted: boolean }> = [];
    const received: FlowRecord[] = [];
    // More than the packer's first allocation, taken in three messages of different sizes.
    for (const batch of [1, 700, 1300]) {
      for (let i = 0; i < batch; i++) {
        const flow = randomFlow(rng, sent.length);
        if (sent.length % 97 === 0) flow.speakers = [{ side: 4, label: 'DICOM', name: `PACS${sent.length}` }];
        const ruleMatches = new Map<number, number>(sent.length % 13 === 0 ? [[1000001, sent.length], [1000008, 1]] : []);
        const record: FlowRecord = { flow, reason: REASONS[sent.length % REASONS.length], ruleMatches, alerted: ruleMatches.size > 0 };
        sent.push({ fields: outputFields(flow), reason: record.reason, ruleMatches: [...ruleMatches], alerted: record.alerted });
        packer.add(record);
        flow.reset(); // the flow table reuses the object once the record is handed on
      }
      expect(packer.size).toBe(batch);
      const columns = packer.take();
      expect(packer.size).toBe(0);
      // What crosses is what structured clone makes of it.
      unpackFlowRecords(structuredClone(columns!), (r) => received.push(r));
    }
    expect(packer.take()).toBeNull();
    expect(received).toHaveLength(sent.length);
    received.forEach((r, i) => {
      expect(outputFields(r.flow)).toEqual(sent[i].fields);
      expect(r.reason).toBe(sent[i].reason);
      expect([...r.ruleMatches]).toEqual(sent[i].ruleMatches);
      expect(r.alerted).toBe(sent[i].alerted);
    });
  });

  it('an alert comes back with its rule and its flow, or not at all when the rule is unknown', () => {
    const flow = randomFlow(new Prng(3), 0);
    flow.speakers = [{ side: 0, label: 'HL7', name: 'MONITOR1' }];
    const rule = { id: 1000001 } as CompiledRule;
    const alert = { rule, flow, dir: 0, tsSec: 1, tsNsec: 2, matches: 3, severity: 1, event: null, indicator: null, note: null, captureFile: "ward7.pcap" } as unknown as Alert;
    const message = structuredClone(alertMessage(alert));
    const back = restoreAlert(message, new Map([[rule.id, rule]]));
    expect(back?.rule).toBe(rule);
    expect(outputFields(back!.flow)).toEqual(outputFields(flow));
    expect(restoreAlert(message, new Map())).toBeNull();
  });
});
