#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { CaptureError } from '../capture/errors.js';
import { DEFAULT_RULES_DIR, UsageError, addSharedOptions, type SharedCliOptions } from './analysis-options.js';
import { ConfigError } from './config.js';
import { EXIT_USAGE, replay } from './replay-command.js';
import { rulesCheck, rulesList } from './rules-command.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command();
program
  .name('wardwatch')
  .description('Passive network traffic detector for hospital networks: finds the Contec CMS8000 backdoor\nand cleartext patient data on the wire, in captures or live on a mirror port.')
  .version(version)
  .exitOverride()
  .showHelpAfterError('(run with --help for usage)');

addSharedOptions(
  program
    .command('replay')
    .description('analyse capture files (pcap or pcapng, gzip or not); several files and directories are read as one capture in timestamp order')
    .argument('[captures...]', 'capture files, directories of captures, or - for standard input')
    .option('-r, --read <capture>', 'a capture to read, as in tcpdump and tshark; repeatable', (value: string, previous: string[] = []) => [...previous, value]),
)
  .addHelpText(
    'after',
    `
Examples:
  wardwatch replay pcaps/cms8000-to-indicator.pcap
  wardwatch replay -r monday.pcapng -r tuesday.pcapng --eve alerts.json
  wardwatch replay /captures/ward7/ --home-net 10.0.0.0/8 --format json > eve.json
  zcat big.pcap.gz | wardwatch replay - --fail-on-alert

Exit codes: 0 done (alerts or not), 1 alerts raised with --fail-on-alert,
2 usage error, unreadable input or bad rules.`,
  )
  .action(async (captures: string[], options: SharedCliOptions & { read?: string[] }) => {
    const inputs = [...(options.read ?? []), ...captures];
    if (inputs.length === 0) throw new UsageError('replay needs at least one capture (a file, a directory, or - for standard input)');
    process.exitCode = await replay(inputs, options);
  });

const rules = program.command('rules').description('check and list the rule pack');
rules
  .command('check')
  .description('validate rule files, thresholds and indicator lists; exit 2 on any error')
  .option('--rules <dir>', 'rule directory', DEFAULT_RULES_DIR)
  .option('--home-net <cidrs>', 'comma-separated HOME_NET')
  .option('--indicators <file>', 'extra indicator list; repeatable', (value: string, previous: string[] = []) => [...previous, value])
  .addHelpText('after', '\nExample:\n  wardwatch rules check --rules ./rules')
  .action(async (options: { rules: string; homeNet?: string; indicators?: string[] }) => {
    process.exitCode = await rulesCheck({ rules: options.rules, homeNet: splitList(options.homeNet), indicators: options.indicators });
  });
rules
  .command('list')
  .description('print id, severity and name of every rule')
  .option('--rules <dir>', 'rule directory', DEFAULT_RULES_DIR)
  .addHelpText('after', '\nExample:\n  wardwatch rules list')
  .action(async (options: { rules: string }) => {
    process.exitCode = await rulesList({ rules: options.rules });
  });

function splitList(text: string | undefined): string[] | undefined {
  return text === undefined ? undefined : text.split(',').map((s) => s.trim()).filter(Boolean);
}

program.parseAsync().catch((err: unknown) => {
  if (err instanceof CommanderError) {
    // Commander has printed its message; help and version are not errors.
    process.exitCode = err.exitCode === 0 ? 0 : EXIT_USAGE;
    return;
  }
  if (err instanceof UsageError || err instanceof ConfigError || err instanceof CaptureError) {
    process.stderr.write(`wardwatch: error: ${err.message}\n`);
  } else {
    process.stderr.write(`wardwatch: internal error: ${(err as Error).stack ?? String(err)}\n`);
  }
  process.exitCode = EXIT_USAGE;
});
