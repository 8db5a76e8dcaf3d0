/**
 * The kinds of output, each in its own file. A new kind (syslog, Redis...) is its file and one
 * line here: the config file's `outputs:` entries are checked against the writers' schemas.
 */
import { z } from 'zod';
import { eveWriter } from './eve-output.js';
import type { Output, OutputContext } from './output.js';
import { reportWriter } from './report/report-output.js';
import { textWriter } from './text-output.js';

const WRITERS = [eveWriter, textWriter, reportWriter] as const;

type Spec = (typeof WRITERS)[number]['spec'];

/** One entry of the `outputs:` list. */
export const outputSpec = z.discriminatedUnion('type', WRITERS.map((w) => w.spec) as unknown as [Spec, ...Spec[]]);

export type OutputSpec = z.infer<typeof outputSpec>;

/** Opens an output; throws the system's error when its destination cannot be opened. */
export function openOutput(spec: OutputSpec, context: OutputContext): Output {
  const writer = WRITERS.find((w) => w.spec.shape.type.value === spec.type)!;
  return writer.open(spec as never, context);
}
