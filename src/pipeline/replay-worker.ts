/**
 * A replay analysis thread. It reads every capture itself (the page cache serves the others'
 * reads) and analyses only the packets whose outer address pair hashes to it, with a whole
 * Detector. Findings go back as plain data; the main thread acknowledges each batch once its
 * outputs took it, and the worker stops reading while too many are unacknowledged.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { PacketSource } from '../capture/capture-reader.js';
import { CaptureError } from '../capture/errors.js';
import { MergedSource } from '../capture/merged-source.js';
import { openCapture } from '../capture/open-capture.js';
import type { Alert, DetectSink, FlowRecord } from '../detect/alert.js';
import { RuleSet } from '../detect/rule-set.js';
import { outerPairHashOf, shardOf } from '../decode/outer-pair.js';
import { Detector } from './detector.js';
import { alertMessage, flowRecordMessage, type Finding, type FromWorker, type ToWorker, type WorkerSetup } from './worker-messages.js';

/** Findings batches the main thread may have unacknowledged before this worker waits. */
const MAX_UNACKED = 4;
/** A batch goes out when it holds this many findings... */
const BATCH_FINDINGS = 512;
/** ...or after this many packets read, which also carries progress. */
const BATCH_PACKETS = 1 << 16;

const setup = workerData as WorkerSetup;
const port = parentPort!;
let findings: Finding[] = [];
let unacked = 0;
let resume: (() => void) | null = null;

port.on('message', (message: ToWorker) => {
  if (message.type !== 'ack') return;
  unacked--;
  if (resume !== null && unacked < MAX_UNACKED) {
    const wake = resume;
    resume = null;
    wake();
  }
});

run().catch((err: unknown) =>
  port.postMessage(
    err instanceof CaptureError
      ? ({ type: 'capture-failed', file: err.file, offset: err.offset, reason: err.reason } satisfies FromWorker)
      : ({ type: 'failed', message: (err as Error).message } satisfies FromWorker),
  ),
);

async function run(): Promise<void> {
  const { ruleSet } = await RuleSet.load({ rulesDir: setup.rulesDir, homeNet: setup.homeNet, indicatorFiles: setup.indicatorFiles });
  const sink: DetectSink = {
    alert: (alert: Alert) => findings.push({ kind: 'alert', alert: alertMessage(alert) }),
    flowEnd: (record: FlowRecord) => findings.push({ kind: 'flow', record: flowRecordMessage(record) }),
  };
  const options = setup.options;
  const detector = new Detector(ruleSet, sink, { ...options, flows: { ...options.flows, idOffset: setup.index, idStride: setup.count } });
  const sources: PacketSource[] = [];
  // Every thread reads every capture: reading further ahead only makes their reads contend
  // (measured: 2 threads 2.2 s with one chunk ahead, 2.3 s with three).
  for (const input of setup.inputs) sources.push((await openCapture(input.path, { readAhead: 1 })).source);
  const packets = sources.map(() => 0);
  let sinceBatch = 0;
  let clockSec = -1;

  await new MergedSource(sources).forEach((pkt, index) => {
    packets[index]++;
    if (shardOf(outerPairHashOf(pkt), setup.count) === setup.index) {
      detector.context.captureFile = setup.inputs[index].name;
      detector.process(pkt);
    } else if (pkt.tsSec !== clockSec) {
      // Another thread's packet still tells the time: flows here time out as they would alone.
      clockSec = pkt.tsSec;
      detector.advanceClock(pkt.tsSec);
    }
    if (findings.length >= BATCH_FINDINGS || ++sinceBatch >= BATCH_PACKETS) {
      sinceBatch = 0;
      return sendBatch(sources);
    }
  });
  for (const source of sources) await source.close().catch(() => undefined);
  detector.finish();
  port.postMessage({
    type: 'finished',
    findings,
    position: positionOf(sources),
    stats: detector.stats(),
    inputs: sources.map((s, i) => ({ packets: packets[i], error: s.error === null ? null : { offset: s.error.offset, reason: s.error.reason } })),
  } satisfies FromWorker);
  findings = [];
}

function sendBatch(sources: PacketSource[]): Promise<void> | undefined {
  port.postMessage({ type: 'batch', findings, position: positionOf(sources) } satisfies FromWorker);
  findings = [];
  if (++unacked < MAX_UNACKED) return undefined;
  return new Promise((resolve) => (resume = resolve));
}

function positionOf(sources: PacketSource[]): number {
  return sources.reduce((n, s) => n + s.position, 0);
}
