/**
 * The report output: an incident report page written when the run ends. It turns what it is
 * handed into EVE records and builds the page from those, as `wardwatch report` does from EVE
 * files, so the two make the same page.
 */
import type { Writable } from 'node:stream';
import { z } from 'zod';
import type { Alert, FlowRecord } from '../../detect/alert.js';
import type { RunStats } from '../../stats/run-stats.js';
import { flowRecord, alertRecord, inventoryRecord, runRecord, statsRecord } from '../eve.js';
import type { InventorySnapshot } from '../inventory.js';
import { LineStream, openOutputFile, type FailureListener, type Output, type OutputContext, type OutputHealth, type OutputWriter } from '../output.js';
import type { RunFacts } from '../run-facts.js';
import { renderReport } from './html.js';
import { ReportBuilder, type ReportEvidence } from './model.js';

const schema = z.strictObject({
  type: z.literal('report'),
  /** The HTML file to write. */
  path: z.string().min(1),
});

export class ReportOutput implements Output {
  readonly builder: ReportBuilder;
  private readonly lines: LineStream;

  constructor(
    readonly name: string,
    out: Writable,
    evidence: ReportEvidence,
    onFailure: FailureListener = () => undefined,
  ) {
    this.builder = new ReportBuilder(evidence);
    this.lines = new LineStream(name, out, onFailure);
  }

  get health(): OutputHealth {
    return this.lines.health;
  }

  alert(alert: Alert): void {
    this.builder.add(alertRecord(alert, { evidence: this.builder.evidence }));
  }

  flowEnd(record: FlowRecord): void {
    this.builder.add(flowRecord(record));
  }

  stats(stats: RunStats): void {
    this.builder.add(statsRecord(stats));
  }

  inventory(inventory: InventorySnapshot): void {
    this.builder.add(inventoryRecord(inventory));
  }

  run(facts: RunFacts): void {
    this.builder.add(runRecord(facts));
  }

  drain(): undefined {
    return undefined;
  }

  /** Writes the page: the run is over. */
  close(): Promise<void> {
    this.lines.write(renderReport(this.builder.build()));
    return this.lines.close();
  }
}

/** Opens a report file; one that can hold patient data is readable by its owner only. */
export function openReportFile(path: string, evidence: ReportEvidence): Writable {
  return openOutputFile(path, { private: evidence === 'full' });
}

function open(spec: z.infer<typeof schema>, context: OutputContext): Output {
  return new ReportOutput(`report:${spec.path}`, openReportFile(spec.path, context.evidence), context.evidence, context.onFailure);
}

export const reportWriter: OutputWriter<typeof schema> = { spec: schema, open };
