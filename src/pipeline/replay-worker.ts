/**
 * A replay analysis thread. It reads every capture itself (the page cache serves the others'
 * reads) and analyses only the packets whose outer address pair hashes to it, with a whole
 * Detector. Findings go back as plain data; the main thread acknowledges each batch once its
 * outputs took it, and the worker stops reading while too many are unacknowledged.
 *
 * Bundled on its own (dist/bin/replay-worker.cjs) and started by replay-worker-launcher.ts, which
 * compiles it from its code cache and calls startReplayWorker; unbundled (tsc's output, which the
 * tests start), it starts itself.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CaptureError } from '../capture/errors.js';
import { openCapture } from '../capture/open-capture.js';
import type { Alert, DetectSink, FlowRecord } from '../detect/alert.js';
import { RuleSet } from '../detect/rule-set.js';
import type { RoleChannel } from '../detect/host-roles.js';
import { Detector } from './detector.js';
import { PacketShare } from './packet-share.js';
import { positionOf, replay, type ReplayInput } from './replay.js';
import { alertMessage, FlowRecordPacker, type Finding, type FromWorker, type ToWorker, type WorkerSetup } from './worker-messages.js';

/** Findings batches the main thread may have unacknowledged before this worker waits. */
const MAX_UNACKED = 4;
/** A batch goes out when it holds this many findings... */
const BATCH_FINDINGS = 512;
/** ...or after this many packets read, which also carries progress. */
const BATCH_PACKETS = 1 << 16;

declare global {
  interface ImportMeta {
    /** True in the built bundles (tools/bundle.ts defines it). */
    readonly bundled?: boolean;
  }
}

const setup = workerData as WorkerSetup;
const port = parentPort!;
let findings: Finding[] = [];
/** Flow records wait here, in columns, until another finding or a message needs them in order. */
const flowRecords = new FlowRecordPacker();
let unacked = 0;
let resume: (() => void) | null = null;
let stopped = false;

/**
 * Analyses this thread's share. `beforeFinish` runs once the analysis is done, before the last
 * message (after which the main thread may end the thread at any moment).
 */
export function startReplayWorker(beforeFinish: () => void = () => {}): void {
  port.on('message', (message: ToWorker) => {
    if (message.type === 'stop') {
      stopped = true;
      return;
    }
    unacked--;
    if (resume !== null && unacked < MAX_UNACKED) {
      const wake = resume;
      resume = null;
      wake();
    }
  });

  run(beforeFinish).catch((err: unknown) =>
    port.postMessage(
      err instanceof CaptureError
        ? ({ type: 'capture-failed', file: err.file, offset: err.offset, reason: err.reason } satisfies FromWorker)
        : ({ type: 'failed', message: (err as Error).message } satisfies FromWorker),
    ),
  );
}

async function run(beforeFinish: () => void): Promise<void> {
  const { ruleSet } = await RuleSet.load({ rulesDir: setup.rulesDir, homeNet: setup.homeNet, indicatorFiles: setup.indicatorFiles, monitorFiles: setup.monitorFiles });
  const sink: DetectSink = {
    alert: (alert: Alert) => pushFinding({ kind: 'alert', alert: alertMessage(alert) }),
    flowEnd: (record: FlowRecord) => flowRecords.add(record),
  };
  const options = setup.options;
  // Host roles are resolved on the main thread, which hears from every thread.
  const roles: RoleChannel = {
    identified: (role, address, tsSec, tsNsec) => pushFinding({ kind: 'identified', role, address, tsSec, tsNsec }),
    awaiting: (alert, role) => {
      pushFinding({ kind: 'awaiting', alert: alertMessage(alert), role });
      return false;
    },
  };
  const detector = new Detector(ruleSet, sink, { ...options, roles, flows: { ...options.flows, idOffset: setup.index, idStride: setup.count } });
  const inputs: ReplayInput[] = [];
  // Every thread reads every capture: reading further ahead only makes their reads contend
  // (measured: 2 threads 2.2 s with one chunk ahead, 2.3 s with three).
  for (const input of setup.inputs) inputs.push({ ...input, source: (await openCapture(input.path, { readAhead: 1 })).source });
  let sinceBatch = 0;
  const outcomes = await replay(inputs, new PacketShare(detector, setup.index, setup.count), {
    backpressure: () => {
      if (findings.length + flowRecords.size < BATCH_FINDINGS && ++sinceBatch < BATCH_PACKETS) return undefined;
      sinceBatch = 0;
      return sendBatch(inputs);
    },
    interrupted: () => stopped,
  });
  detector.finish();
  flushFlowRecords();
  beforeFinish();
  port.postMessage({
    type: 'finished',
    findings,
    position: positionOf(inputs.map((i) => i.source)),
    stats: detector.stats(),
    inputs: outcomes.map((o) => ({ packets: o.packets, first: o.first, last: o.last, error: o.error === null ? null : { offset: o.error.offset, reason: o.error.reason } })),
  } satisfies FromWorker);
  findings = [];
}

function pushFinding(finding: Finding): void {
  flushFlowRecords();
  findings.push(finding);
}

function flushFlowRecords(): void {
  const columns = flowRecords.take();
  if (columns !== null) findings.push({ kind: 'flows', columns });
}

function sendBatch(inputs: ReplayInput[]): Promise<void> | undefined {
  flushFlowRecords();
  port.postMessage({ type: 'batch', findings, position: positionOf(inputs.map((i) => i.source)) } satisfies FromWorker);
  findings = [];
  if (++unacked < MAX_UNACKED) return undefined;
  return new Promise((resolve) => (resume = resolve));
}

if (import.meta.bundled !== true) startReplayWorker();
