/** The EVE JSON output: one record per line, to a file or stdout. */
import { z } from 'zod';
import type { EvidenceMode } from '../analyzers/analyzer.js';
import type { Alert, FlowRecord } from '../detect/alert.js';
import type { RunStats } from '../stats/run-stats.js';
import { alertRecord, type EveRecord, flowRecord, inventoryRecord, runRecord, statsRecord } from './eve.js';
import type { RunFacts } from './run-facts.js';
import type { InventorySnapshot } from './inventory.js';
import { LineStream, openOutputFile, type Output, type OutputContext, type OutputHealth, type OutputLog, type OutputWriter } from './output.js';
import { isPattern, OutputFile, parseInterval } from './output-file.js';
import type { Writable } from 'node:stream';

const schema = z
  .strictObject({
    type: z.literal('eve'),
    /** A file, or - for stdout; with rotate_interval, a pattern such as eve-%Y%m%d-%H%M.json. */
    path: z.string().min(1).default('-'),
    /** Write a `flow` record for every ended flow; default: the run's --flows. */
    flows: z.boolean().optional(),
    /** A new file every `15m`, `1h`, `1d` (or seconds), named by the path's pattern. */
    rotate_interval: z.union([z.string(), z.number()]).optional(),
  })
  .superRefine((spec, ctx) => {
    if (spec.rotate_interval === undefined) return;
    try {
      parseInterval(spec.rotate_interval);
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['rotate_interval'], message: (err as Error).message });
    }
    if (!isPattern(spec.path)) {
      ctx.addIssue({ code: 'custom', path: ['path'], message: `rotate_interval needs a path that names each period's file, such as eve-%Y%m%d-%H%M.json, not '${spec.path}'` });
    }
  });

export interface EveOutputOptions {
  evidence: EvidenceMode;
  /** Write a `flow` record for every ended flow. */
  flows: boolean;
  /** The file written, when it is one: reopened on request, rotated when due. */
  file?: OutputFile;
  log?: OutputLog;
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

  reopen(): void {
    const file = this.options.file;
    if (file !== undefined) this.lines.replace(file.reopen());
  }

  drain(): Promise<void> | undefined {
    return this.lines.drain();
  }

  close(giveUpAtMs?: number): Promise<void> {
    return this.lines.close(giveUpAtMs);
  }

  private write(record: EveRecord): void {
    const file = this.options.file;
    if (file !== undefined) {
      try {
        const next = file.rotateIfDue(Date.now());
        if (next !== null) this.lines.replace(next);
      } catch (err) {
        this.options.log?.error({ output: this.name, file: file.path, reason: (err as NodeJS.ErrnoException).code ?? (err as Error).message }, 'cannot open the next output file; writing on to the old one');
      }
    }
    this.lines.write(JSON.stringify(record) + '\n');
  }
}

/** Full evidence can hold patient data: such files are readable by their owner only. */
function open(spec: z.infer<typeof schema>, context: OutputContext): Output {
  const options = { evidence: context.evidence, flows: spec.flows ?? context.flows, log: context.log };
  if (spec.path === '-') return new EveOutput('eve:-', openOutputFile('-', { private: false }), options, context.onFailure);
  const rotateIntervalMs = spec.rotate_interval === undefined ? null : parseInterval(spec.rotate_interval);
  const file = new OutputFile(spec.path, { private: context.evidence === 'full', append: context.append === true, rotateIntervalMs });
  return new EveOutput(`eve:${spec.path}`, file.open(), { ...options, file }, context.onFailure);
}

/** `file:PATH` (or `file://PATH`): EVE JSON lines to a file. */
function fromUrl(text: string): z.input<typeof schema> {
  return { type: 'eve', path: text.replace(/^file:(\/\/)?/i, '') };
}

export const eveWriter: OutputWriter<typeof schema> = { spec: schema, schemes: ['file'], fromUrl, open };
