#!/usr/bin/env node
import { Command } from 'commander';
import { CaptureError } from '../capture/errors.js';
import { Pipeline } from '../pipeline/pipeline.js';
import { replayCapture, type CaptureReport } from '../pipeline/replay.js';
import { formatSummary } from './summary.js';

const EXIT_OK = 0;
const EXIT_USAGE = 2;

const program = new Command();
program
  .name('wardwatch')
  .description('Passive network traffic detector for hospital networks')
  .version(process.env.npm_package_version ?? '0.1.0');

program
  .command('replay')
  .description('analyse packet captures (pcap, pcapng, gzip-compressed or not; - for standard input)')
  .argument('<captures...>', 'capture files')
  .action(async (captures: string[]) => {
    const pipeline = new Pipeline();
    const reports: CaptureReport[] = [];
    let unreadable = false;
    const started = process.hrtime.bigint();
    for (const path of captures) {
      try {
        const report = await replayCapture(path, pipeline);
        reports.push(report);
        if (report.error) process.stderr.write(`wardwatch: warning: ${report.error.message}\n`);
      } catch (err) {
        if (!(err instanceof CaptureError)) throw err;
        process.stderr.write(`wardwatch: error: ${err.message}\n`);
        unreadable = true;
      }
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    process.stdout.write(formatSummary(reports, pipeline, seconds));
    process.exitCode = unreadable ? EXIT_USAGE : EXIT_OK;
  });

program.parseAsync().catch((err: unknown) => {
  process.stderr.write(`wardwatch: error: ${(err as Error).message}\n`);
  process.exitCode = EXIT_USAGE;
});
