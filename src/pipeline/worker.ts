/**
 * An analysis worker: a whole Detector (decode, flows, analyzers, rules) for the host pairs the
 * reading thread routes to it. Findings go back as plain data in the reply to each batch.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CapturedPacket } from '../capture/packet.js';
import type { Alert, DetectSink, FlowRecord } from '../detect/alert.js';
import { RuleSet } from '../detect/rule-set.js';
import { Detector, type DetectorOptions } from './detector.js';
import { RECORD_HEADER, alertMessage, flowRecordMessage, type Finding } from './worker-messages.js';

export interface WorkerSetup {
  index: number;
  count: number;
  rulesDir: string;
  homeNet: string[] | undefined;
  indicatorFiles: string[];
  options: DetectorOptions;
}

export type ToWorker = { type: 'file'; index: number; name: string } | { type: 'batch'; buffer: ArrayBuffer; length: number } | { type: 'finish' };

export type FromWorker =
  | { type: 'batch-done'; buffer: ArrayBuffer; findings: Finding[] }
  | { type: 'finished'; findings: Finding[]; stats: unknown }
  | { type: 'failed'; message: string };

const setup = workerData as WorkerSetup;
const port = parentPort!;
let findings: Finding[] = [];
const sink: DetectSink = {
  alert: (alert: Alert) => findings.push({ kind: 'alert', alert: alertMessage(alert) }),
  flowEnd: (record: FlowRecord) => findings.push({ kind: 'flow', record: flowRecordMessage(record) }),
};
const files: string[] = [];
const pkt = new CapturedPacket();

const ready = RuleSet.load({ rulesDir: setup.rulesDir, homeNet: setup.homeNet, indicatorFiles: setup.indicatorFiles }).then(({ ruleSet }) => {
  const options = setup.options;
  return new Detector(ruleSet, sink, { ...options, flows: { ...options.flows, idOffset: setup.index, idStride: setup.count } });
});

port.on('message', (message: ToWorker) => {
  ready.then(
    (detector) => handle(detector, message),
    (err: unknown) => port.postMessage({ type: 'failed', message: (err as Error).message } satisfies FromWorker),
  );
});

function handle(detector: Detector, message: ToWorker): void {
  switch (message.type) {
    case 'file':
      files[message.index] = message.name;
      return;
    case 'batch': {
      const view = new DataView(message.buffer);
      const bytes = new Uint8Array(message.buffer);
      for (let at = 0; at < message.length; ) {
        const caplen = view.getUint32(at, true);
        pkt.caplen = caplen;
        pkt.origlen = view.getUint32(at + 4, true);
        pkt.tsSec = view.getUint32(at + 8, true);
        pkt.tsNsec = view.getUint32(at + 12, true);
        pkt.linkType = view.getUint16(at + 16, true);
        detector.context.captureFile = files[view.getUint16(at + 18, true)] ?? null;
        pkt.index = view.getUint32(at + 20, true);
        pkt.data = bytes;
        pkt.offset = at + RECORD_HEADER;
        detector.process(pkt);
        at += RECORD_HEADER + caplen;
      }
      const out = findings;
      findings = [];
      port.postMessage({ type: 'batch-done', buffer: message.buffer, findings: out } satisfies FromWorker, [message.buffer]);
      return;
    }
    case 'finish': {
      detector.finish();
      const stats = detector.stats();
      port.postMessage({ type: 'finished', findings, stats } satisfies FromWorker);
      findings = [];
      return;
    }
  }
}
