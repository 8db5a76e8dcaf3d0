import { Command, CommanderError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { CaptureError } from '../capture/errors.js';
import { DEFAULT_BUFFER_MB, DEFAULT_SNAPLEN } from '../capture/live-capture.js';
import { DEFAULT_RULES_DIR, UsageError, addSharedOptions, collect, homeNetOption, type SharedCliOptions } from './analysis-options.js';
import { ConfigError } from './config.js';
import { interfaces } from './interfaces-command.js';
import { live, type LiveCliOptions } from './live-command.js';
import { EXIT_USAGE, replay } from './replay-command.js';
import { report, type ReportCliOptions } from './report-command.js';
import { rulesCheck, rulesList } from './rules-command.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command();
program
  .name('wardwatch')
  .description('Passive network traffic detector for hospital networks: finds the Contec CMS8000 backdoor and cleartext patient data on the wire, in captures or live on a mirror port.')
  .version(version)
  .exitOverride()
  // Commander's own errors ("error: unknown option ...") name the program as wardwatch's others do.
  .configureOutput({ outputError: (text, write) => write(`wardwatch: ${text}`) })
  .showHelpAfterError('(run with --help for usage)')
  .addHelpText(
    'after',
    `
Examples:
  wardwatch replay pcaps/cms8000-to-indicator.pcap      alerts for people on the terminal
  wardwatch replay captures/ --format json > eve.json   EVE JSON lines for a SIEM
  wardwatch replay ward7.pcap --report incident.html     an incident report page
  wardwatch rules check --rules ./rules                 validate a rule pack
Run 'wardwatch <command> --help' for each command's options.`,
  );

// A reader that goes away (wardwatch ... | head) ends the output, not with a stack trace. Any
// other failure of stdout (a full disk) is the output's to report: it names itself and the errno.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
});

addSharedOptions(
  program
    .command('replay')
    .description('analyse capture files (pcap or pcapng, gzip or not); several files and directories are read as one capture in timestamp order')
    .argument('[captures...]', 'capture files, directories of captures, or - for standard input')
    .option('-r, --read <capture>', 'a capture to read, as in tcpdump and tshark; repeatable', (value: string, previous: string[] = []) => [...previous, value])
    .option('--workers <n>', 'analysis threads (replay of files); each reads the captures and keeps the host pairs that hash to it (default 1)'),
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

addSharedOptions(
  program
    .command('live')
    .description('analyse traffic live from a network interface, typically a mirror (SPAN) port; runs until SIGINT or SIGTERM')
    .option('-i, --interface <name>', 'interface to capture on (see wardwatch interfaces); required here or as live.interface in --config')
    .option('-f, --filter <bpf>', 'capture filter in tcpdump (BPF) syntax')
    .option('--snaplen <bytes>', `bytes kept of each packet (default: ${DEFAULT_SNAPLEN})`)
    .option('--buffer-mb <MiB>', `kernel capture buffer; raise it when stats show kernel drops (default: ${DEFAULT_BUFFER_MB})`)
    .option('--no-promisc', 'do not put the interface in promiscuous mode')
    .option('--stats-interval <seconds>', 'write a stats record this often (default: 60)')
    // Not a negation of some --packet-warning, as commander takes a --no- option to be.
    .addOption(
      Object.assign(new Option('--no-packet-warning <seconds>', 'warn when no packet has arrived for this long, and again when traffic is back; 0: never (default: 300)'), {
        negate: false,
      }),
    ),
)
  .addHelpText(
    'after',
    `
Examples:
  wardwatch live -i eth1
  wardwatch live -i eth1 --home-net 10.0.0.0/8 --eve /var/log/wardwatch/eve.json
  wardwatch live -i eth1 -f 'not port 22' --buffer-mb 256 --stats-interval 30

Capturing runs tcpdump, which needs CAP_NET_RAW (and CAP_NET_ADMIN for promiscuous mode): run as
root, or: sudo setcap cap_net_raw,cap_net_admin=eip $(command -v tcpdump)
If the interface goes away, wardwatch reports it, waits and re-opens the capture, keeping its flows.
Signals: SIGINT or SIGTERM end the run within 2 s, at any moment (open flows are reported, final
stats written); SIGHUP reopens the output files (after logrotate renamed them) and reloads the
rules (a failed reload keeps the rules in force).
Output files (--eve, file: outputs) are appended to, so a restart keeps the last run's records;
replay truncates them instead.

Exit codes: 0 stopped by a signal, 1 alerts raised with --fail-on-alert,
2 usage error, interface missing, no permission, tcpdump missing, bad filter or bad rules.`,
  )
  .action(async (options: LiveCliOptions) => {
    process.exitCode = await live(options);
  });

program
  .command('report')
  .description('make an incident report, one self-contained HTML page, from EVE files written by replay or live')
  .argument('<eve...>', 'EVE JSON files (several are read as one run)')
  .requiredOption('-o, --output <file>', 'the HTML file to write')
  .option('--evidence <mode>', 'redacted (default): no patient data even when the EVE holds it; full: include it (the file is made mode 0600); none: no payload evidence')
  .addHelpText(
    'after',
    `
Examples:
  wardwatch replay pcaps/cms8000-to-indicator.pcap --flows --eve eve.json
  wardwatch report eve.json -o incident.html

The page is the one replay --report writes for the same run (flow records, kept with --flows,
draw the devices' timelines). Lines that are not EVE records are skipped with a warning.
Exit codes: 0 written, 2 no records, unreadable input or unwritable output.`,
  )
  .action(async (files: string[], options: ReportCliOptions) => {
    process.exitCode = await report(files, options);
  });

program
  .command('interfaces')
  .description('list the capture devices live -i accepts, with addresses and descriptions')
  .option('--json', 'print a JSON array instead of a table')
  .option('--log-level <level>', 'debug says which lister answered (the cap binding or tcpdump -D)')
  .addHelpText('after', '\nExamples:\n  wardwatch interfaces\n  wardwatch interfaces --json')
  .action(async (options: { json?: boolean; logLevel?: string }) => {
    process.exitCode = await interfaces(options);
  });

const rules = program.command('rules').description('check and list the rule pack');
rules
  .command('check')
  .description('validate rule files, thresholds and indicator lists; exit 2 on any error')
  .option('--rules <dir>', 'rule directory', DEFAULT_RULES_DIR)
  .option('--home-net <cidrs>', 'comma-separated HOME_NET; repeatable', collect)
  .option('--indicators <file>', 'extra indicator list; repeatable', collect)
  .option('--monitors <file>', "list of the hospital's patient monitors; repeatable", collect)
  .addHelpText('after', '\nExample:\n  wardwatch rules check --rules ./rules')
  .action(async (options: { rules: string; homeNet?: string[]; indicators?: string[]; monitors?: string[] }) => {
    process.exitCode = await rulesCheck({ rules: options.rules, homeNet: homeNetOption(options.homeNet), indicators: options.indicators, monitors: options.monitors });
  });
rules
  .command('list')
  .description('print id, severity and name of every rule')
  .option('--rules <dir>', 'rule directory', DEFAULT_RULES_DIR)
  .addHelpText('after', '\nExample:\n  wardwatch rules list')
  .action(async (options: { rules: string }) => {
    process.exitCode = await rulesList({ rules: options.rules });
  });

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
    // Analysis threads would keep the process alive: a fault ends it.
    process.exit(EXIT_USAGE);
  }
  process.exitCode = EXIT_USAGE;
});
