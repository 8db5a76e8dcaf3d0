/**
 * The kinds of output, each in its own file. A new kind (syslog, Redis...) is its file and one
 * line here: the config file's `outputs:` entries are checked against the writers' schemas, and
 * `--output URL` (or a URL as an `outputs:` entry) is read by the writer of its scheme.
 */
import { z } from 'zod';
import { shown } from './delivery.js';
import { eveWriter } from './eve-output.js';
import type { Output, OutputContext, OutputWriter } from './output.js';
import { redisWriter } from './redis-output.js';
import { reportWriter } from './report/report-output.js';
import { syslogWriter } from './syslog-output.js';
import { textWriter } from './text-output.js';

const WRITERS = [eveWriter, textWriter, syslogWriter, redisWriter, reportWriter] as const;

type Spec = (typeof WRITERS)[number]['spec'];

const entrySpec = z.discriminatedUnion('type', WRITERS.map((w) => w.spec) as unknown as [Spec, ...Spec[]]);

/** One entry of the `outputs:` list: an object with its `type`, or a URL as `--output` takes it. */
export const outputSpec = z.unknown().transform((value, ctx): OutputSpec => {
  let parsed: ReturnType<typeof entrySpec.safeParse>;
  try {
    parsed = entrySpec.safeParse(typeof value === 'string' ? entryOfUrl(value) : value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) {
    // A URL's options are named in the message: the entry has no keys to point at.
    const where = typeof value === 'string' ? `'${shown(value)}': ${issue.path.length > 0 ? `${issue.path.join('.')}: ` : ''}` : '';
    ctx.addIssue({ code: 'custom', message: where + issue.message, path: typeof value === 'string' ? [] : issue.path });
  }
  return z.NEVER;
});

export type OutputSpec = z.output<typeof entrySpec>;

function writerOf(type: string): OutputWriter {
  return WRITERS.find((w) => w.spec.shape.type.value === type)! as unknown as OutputWriter;
}

/** The entry a URL stands for, not yet checked against its kind's schema; throws for an unknown scheme. */
function entryOfUrl(text: string): unknown {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1]?.toLowerCase();
  const writer = WRITERS.find((w) => scheme !== undefined && (w as OutputWriter).schemes?.includes(scheme)) as OutputWriter | undefined;
  if (writer === undefined) {
    const known = WRITERS.flatMap((w) => (w as OutputWriter).schemes ?? []).join(', ');
    throw new Error(scheme === undefined ? `'${shown(text)}' is not an output URL (known schemes: ${known})` : `'${shown(text)}': unknown output scheme '${scheme}' (known: ${known})`);
  }
  return writer.fromUrl!(text);
}

/** The output `--output URL` asks for; throws an Error naming what is wrong with the URL. */
export function outputFromUrl(text: string): OutputSpec {
  const parsed = outputSpec.safeParse(text);
  if (!parsed.success) throw new Error(parsed.error.issues[0].message);
  return parsed.data as OutputSpec;
}

/** What an output's destination is, for messages: its path or URL. */
export function outputLabel(spec: OutputSpec): string {
  return 'path' in spec ? spec.path : shown(spec.url);
}

/** Checks what can be checked before the run starts; throws an Error whose message is one line. */
export function checkOutput(spec: OutputSpec): void {
  writerOf(spec.type).check?.(spec as never);
}

/** Opens an output; throws the system's error when its destination cannot be opened. */
export function openOutput(spec: OutputSpec, context: OutputContext): Output {
  return writerOf(spec.type).open(spec as never, context);
}
