/** Shared pieces of the adversarial-load tests: the shipped rules, sample packets, counters. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { openCapture } from '../../src/capture/open-capture.js';
import { CapturedPacket } from '../../src/capture/packet.js';
import type { Alert, DetectSink, FlowRecord } from '../../src/detect/alert.js';
import { RuleSet } from '../../src/detect/rule-set.js';
import { REPO_ROOT } from '../support/captures.js';

export const RULES_DIR = join(REPO_ROOT, 'rules');
export const SAMPLES_DIR = join(REPO_ROOT, 'pcaps');

export async function shippedRules(): Promise<RuleSet> {
  return (await RuleSet.load({ rulesDir: RULES_DIR })).ruleSet;
}

/** A captured frame as the readers hand it over, ready for Detector.process. */
export function capturedPacket(data: Uint8Array, linkType: number, tsSec: number, tsNsec = 0, index = 0): CapturedPacket {
  const pkt = new CapturedPacket();
  pkt.data = data;
  pkt.offset = 0;
  pkt.caplen = data.length;
  pkt.origlen = data.length;
  pkt.linkType = linkType;
  pkt.tsSec = tsSec;
  pkt.tsNsec = tsNsec;
  pkt.index = index;
  return pkt;
}

/** Every packet of a sample capture, copied out of the reader's buffer. */
export async function samplePackets(name: string): Promise<CapturedPacket[]> {
  const { source } = await openCapture(join(SAMPLES_DIR, name));
  const out: CapturedPacket[] = [];
  const pkt = new CapturedPacket();
  for (;;) {
    while (source.next(pkt)) {
      const copy = capturedPacket(Uint8Array.from(pkt.data.subarray(pkt.offset, pkt.offset + pkt.caplen)), pkt.linkType, pkt.tsSec, pkt.tsNsec, pkt.index);
      copy.origlen = pkt.origlen;
      out.push(copy);
    }
    if (!(await source.refill())) break;
  }
  await source.close();
  if (source.error !== null) throw source.error;
  return out;
}

/** The alerts a sample capture must raise, from its `.expected.json`. */
export function expectedAlerts(name: string): Record<string, number> {
  return (JSON.parse(readFileSync(join(SAMPLES_DIR, `${name}.expected.json`), 'utf8')) as { alerts: Record<string, number> }).alerts;
}

/** Counts alerts by rule id and keeps them. */
export class AlertCounter implements DetectSink {
  readonly alerts: Alert[] = [];
  flowsEnded = 0;

  alert(alert: Alert): void {
    this.alerts.push({ ...alert, flow: alert.flow.copy() }); // the table reuses the flow's object
  }

  flowEnd(_record: FlowRecord): void {
    this.flowsEnded++;
  }

  byRule(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const a of this.alerts) out[String(a.rule.id)] = (out[String(a.rule.id)] ?? 0) + 1;
    return out;
  }
}

export function nullStream(): Writable {
  return new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
}

export function rss(): number {
  return process.memoryUsage.rss();
}

export const MB = 1024 * 1024;
