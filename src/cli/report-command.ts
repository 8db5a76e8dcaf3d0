import { readEveFile, skippedWarning } from '../output/eve-reader.js';
import { renderReport } from '../output/report/html.js';
import { ReportBuilder, type ReportEvidence } from '../output/report/model.js';
import { openReportFile } from '../output/report/report-output.js';
import { LineStream, type OutputHealth } from '../output/output.js';
import { UsageError } from './analysis-options.js';
import { EXIT_OK, EXIT_USAGE } from './replay-command.js';

export interface ReportCliOptions {
  output: string;
  evidence?: string;
}

/**
 * `wardwatch report`: the incident report page from EVE files written earlier by replay or a live
 * sensor. Bad lines are skipped with one warning per file; no record at all is an error.
 */
export async function report(files: string[], options: ReportCliOptions): Promise<number> {
  const evidence = (options.evidence ?? 'redacted') as ReportEvidence;
  if (!['redacted', 'full', 'none'].includes(evidence)) throw new UsageError(`--evidence must be redacted, full or none, not '${evidence}'`);
  const builder = new ReportBuilder(evidence);
  let records = 0;
  for (const file of files) {
    builder.startSource();
    let result;
    try {
      result = await readEveFile(file, (record) => builder.add(record));
    } catch (err) {
      process.stderr.write(`wardwatch: error: ${file}: cannot read: ${(err as Error).message.replace(/^[A-Z]+: /, '')}\n`);
      return EXIT_USAGE;
    }
    if (result.skipped > 0) process.stderr.write(`wardwatch: warning: ${skippedWarning(result)}\n`);
    builder.skippedLines += result.skipped;
    records += result.records;
  }
  if (records === 0) {
    process.stderr.write(`wardwatch: error: no EVE records in ${files.join(', ')}: nothing to report\n`);
    return EXIT_USAGE;
  }
  let failed: OutputHealth | null = null;
  let out;
  try {
    out = openReportFile(options.output, evidence);
  } catch (err) {
    throw new UsageError(`${options.output}: cannot write: ${(err as Error).message.replace(/^[A-Z]+: /, '')}`);
  }
  const lines = new LineStream(`report:${options.output}`, out, (health) => (failed = health));
  lines.write(renderReport(builder.build()));
  await lines.close();
  if (failed !== null) {
    process.stderr.write(`wardwatch: error: ${options.output}: write failed: ${(failed as OutputHealth).error?.message ?? 'unknown error'}\n`);
    return EXIT_USAGE;
  }
  return EXIT_OK;
}
