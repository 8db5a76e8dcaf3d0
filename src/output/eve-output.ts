/** The EVE JSON output: one record per line, to a file or stdout. */
import { z } from 'zod';
import type { EvidenceMode } from '../analyzers/analyzer.js';
import type { Alert, FlowRecord } from '../detect/alert.js';
import type { RunStats } from '../stats/run-stats.js';
import { alertRecord, type EveRecord, flowRecord, inventoryRecord, runRecord, statsRecord } from './eve.js';
import type { RunFacts } from './run-facts.js';
import type { InventorySnapshot } from './inventory.js';
import { LineStream, openOutputFile, type Output, type OutputContext, type OutputHealth, type OutputWriter } from './output.js';
import type { Writable } from 'node:stream';

const schema = z.strictObject({
  type: z.literal('eve'),
  /** A file, or - for stdout. */
  path: z.string().min(1).default('-'),
  /** Write a `flow` record for every ended flow; default: the run's --flows. */
  flows: z.boolean().optional(),
});

export interface EveOutputOptions {
  evidence: EvidenceMode;
  /** Write a `flow` record for every ended flow. */
  flows: boolean;
}

export class EveOutput implements Output {
  private readonly lines: LineStream;

  constructor(
    readonly name: string,
    out: Writable,
    private readonly options: EveOutputOptions,
    onFailure: (health: OutputHealth) => void = () => undefined,
  ) {
    this.lines = new LineStream(name, out, onFailure);
  }

  get health(): OutputHealth {
    return this.lines.health;
  }

  alert(alert: Alert): void {
    this.write(alertRecord(alert, { evidence: this.options.evidence }));
  }

  flowEnd(record: FlowRecord): void {
    if (this.options.flows) this.write(flowRecord(record));
  }

  stats(stats: RunStats): void {
    this.write(statsRecord(stats));
  }

  inventory(inventory: InventorySnapshot): void {
    this.write(inventoryRecord(inventory));
  }

  run(facts: RunFacts): void {
    this.write(runRecord(facts));
  }

  drain(): Promise<void> | undefined {
    return this.lines.drain();
  }

  close(): Promise<void> {
    return this.lines.close();
  }

  private write(record: EveRecord): void {
    this.lines.write(JSON.stringify(record) + '\n');
  }
}

/** Full evidence can hold patient data: such files are readable by their owner only. */
function open(spec: z.infer<typeof schema>, context: OutputContext): Output {
  const out = openOutputFile(spec.path, { private: context.evidence === 'full' });
  return new EveOutput(`eve:${spec.path}`, out, { evidence: context.evidence, flows: spec.flows ?? context.flows }, context.onFailure);
}

/** `file:PATH` (or `file://PATH`): EVE JSON lines to a file. */
function fromUrl(text: string): z.input<typeof schema> {
  return { type: 'eve', path: text.replace(/^file:(\/\/)?/i, '') };
}

export const eveWriter: OutputWriter<typeof schema> = { spec: schema, schemes: ['file'], fromUrl, open };
