/** The text output: one line per alert for people, to a terminal, stdout or a file. */
import type { Writable } from 'node:stream';
import { z } from 'zod';
import type { Alert, FlowRecord } from '../detect/alert.js';
import type { RunStats } from '../stats/run-stats.js';
import type { InventorySnapshot } from './inventory.js';
import { LineStream, openOutputFile, type Output, type OutputContext, type OutputHealth, type OutputWriter } from './output.js';
import { OutputFile } from './output-file.js';
import { formatAlertLine, formatIndicatorList, type IndicatorEntry, type TextOptions } from './text.js';

/** Indicator entries described at the end; a run matching more only counts them. */
const MAX_ENTRIES = 100;

const schema = z.strictObject({
  type: z.literal('text'),
  /** A file, or - for stdout. */
  path: z.string().min(1).default('-'),
});

/**
 * Alert lines, then once the indicator entries they matched with their descriptions; flow ends
 * are not shown, and the stats and inventory are the summary's.
 */
export class TextOutput implements Output {
  private readonly lines: LineStream;
  private readonly entries = new Map<string, IndicatorEntry>();
  private readonly entriesNotKept = new Set<string>();

  constructor(
    readonly name: string,
    out: Writable,
    private readonly options: TextOptions,
    onFailure: (health: OutputHealth) => void = () => undefined,
    /** The file written, when it is one, reopened after log rotation. */
    private readonly file?: OutputFile,
  ) {
    this.lines = new LineStream(name, out, onFailure);
  }

  get health(): OutputHealth {
    return this.lines.health;
  }

  alert(alert: Alert): void {
    this.lines.write(formatAlertLine(alert, this.options) + '\n');
    const hit = alert.indicator;
    if (hit === null) return;
    const entry = this.entries.get(hit.indicator);
    if (entry !== undefined) entry.alerts++;
    else if (this.entries.size < MAX_ENTRIES) this.entries.set(hit.indicator, { indicator: hit.indicator, description: hit.description, source: hit.source, alerts: 1 });
    else if (this.entriesNotKept.size < 1_000_000) this.entriesNotKept.add(hit.indicator);
  }

  flowEnd(_record: FlowRecord): void {}

  stats(_stats: RunStats): void {}

  inventory(_inventory: InventorySnapshot): void {}

  reopen(): void {
    if (this.file !== undefined) this.lines.replace(this.file.reopen());
  }

  drain(): Promise<void> | undefined {
    return this.lines.drain();
  }

  close(giveUpAtMs?: number): Promise<void> {
    const list = formatIndicatorList([...this.entries.values()], this.entriesNotKept.size);
    if (list !== '') this.lines.write(list);
    return this.lines.close(giveUpAtMs);
  }
}

/** Text never carries patient data, so its files are not made private. Colour only on a terminal. */
function open(spec: z.infer<typeof schema>, context: OutputContext): Output {
  const color = spec.path === '-' && process.stdout.isTTY === true;
  const file = spec.path === '-' ? undefined : new OutputFile(spec.path, { private: false, append: context.append === true, rotateIntervalMs: null });
  const out = file === undefined ? openOutputFile('-', { private: false }) : file.open();
  return new TextOutput(`text:${spec.path}`, out, { color, evidence: context.evidence }, context.onFailure, file);
}

export const textWriter: OutputWriter<typeof schema> = { spec: schema, open };
