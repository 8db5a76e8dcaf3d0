import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LINKTYPE, PcapWriter } from '../../tools/craft/index.js';
import {
  escapeRegExp,
  emptyTcpFlow,
  hl7Flow,
  HOST,
  lines,
  ofType,
  parseEveLines,
  pcapOf,
  runCli,
  tempDir,
  type CliResult,
  type TempDir,
} from '../support/cli.js';

let dir: TempDir;
let alerting: string;
let quiet: string;
beforeAll(() => {
  dir = tempDir();
  alerting = dir.file('alerting.pcap', pcapOf(hl7Flow()));
  quiet = dir.file('quiet.pcap', pcapOf(hl7Flow({ server: HOST.engine, serverPort: 2575 })));
});
afterAll(() => dir.remove());

/** Messages on stderr: pino's JSON log lines and the summary's own result line left out. */
function messages(run: CliResult): string[] {
  return lines(run.stderr).filter((l) => !l.startsWith('{') && !/^result +FAILED/.test(l));
}

function expectNoStackTrace(run: CliResult): void {
  expect(run.stderr).not.toMatch(/^\s+at .+(:\d+:\d+\)?|\(node:)/m);
  expect(run.stderr).not.toMatch(/internal error|Unhandled|node:internal/);
}

describe('exit codes', () => {
  it('0 when alerts were raised', async () => {
    const run = await runCli(['replay', alerting]);
    expect(ofType(parseEveLines(run.stdout), 'alert')).toHaveLength(1);
    expect(run.code, run.stderr).toBe(0);
  });

  it('0 when nothing was found', async () => {
    const run = await runCli(['replay', quiet]);
    expect(ofType(parseEveLines(run.stdout), 'alert')).toHaveLength(0);
    expect(run.code, run.stderr).toBe(0);
  });

  it('1 with --fail-on-alert and an alert', async () => {
    const run = await runCli(['replay', alerting, '--fail-on-alert']);
    expect(ofType(parseEveLines(run.stdout), 'alert')).toHaveLength(1);
    expect(run.code).toBe(1);
  });

  it('0 with --fail-on-alert and no alert', async () => {
    const run = await runCli(['replay', quiet, '--fail-on-alert']);
    expect(run.code, run.stderr).toBe(0);
  });
});

describe('usage errors exit 2 with one clear message and no stack trace', () => {
  it('no arguments at all: usage on stderr', async () => {
    const run = await runCli([]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Usage: wardwatch');
    expect(run.stdout).toBe('');
  });

  it('replay without a capture', async () => {
    const run = await runCli(['replay']);
    expect(run.code).toBe(2);
    expect(messages(run)).toEqual(['wardwatch: error: replay needs at least one capture (a file, a directory, or - for standard input)']);
  });

  it('an unknown option', async () => {
    const run = await runCli(['replay', alerting, '--bogus']);
    expect(run.code).toBe(2);
    expect(run.stderr.split('\n')[0]).toBe("wardwatch: error: unknown option '--bogus'");
    expect(run.stdout).toBe('');
  });

  it('an unknown command', async () => {
    const run = await runCli(['scan', alerting]);
    expect(run.code).toBe(2);
    expect(run.stderr.split('\n')[0]).toBe("wardwatch: error: unknown command 'scan'");
  });

  it('a capture file that does not exist: one line naming it', async () => {
    const missing = `${dir.path}/no-such-capture.pcap`;
    const run = await runCli(['replay', missing]);
    expect(run.code).toBe(2);
    const naming = messages(run).filter((l) => l.includes(missing));
    expect(naming).toHaveLength(1);
    expect(naming[0]).toMatch(/^wardwatch: error: .*no such file/i);
    expectNoStackTrace(run);
  });

  it('a missing file among good ones: the good ones are still analysed, the exit code is 2', async () => {
    const missing = `${dir.path}/also-missing.pcap`;
    const run = await runCli(['replay', alerting, missing]);
    expect(run.code).toBe(2);
    expect(ofType(parseEveLines(run.stdout), 'alert')).toHaveLength(1);
    expect(messages(run).filter((l) => l.includes(missing))).toHaveLength(1);
  });

  it('a file that is not a capture', async () => {
    const notes = dir.file('notes.pcap', 'these are not packets\n');
    const run = await runCli(['replay', notes]);
    expect(run.code).toBe(2);
    const naming = messages(run).filter((l) => l.includes(notes));
    expect(naming).toHaveLength(1);
    expect(naming[0]).toMatch(/^wardwatch: error: .*not a pcap or pcapng/);
    expectNoStackTrace(run);
  });

  it('a rule directory with a bad rule: file:line:column of the bad value', async () => {
    const rules = tempDir();
    try {
      const text = ['rules:', '  - id: 9000001', '    rev: 1', '    name: Test rule', '    category: Test', '    severity: 7', '    match:', '      proto: tcp', ''].join('\n');
      const file = rules.file('bad.yaml', text);
      const line = text.split('\n').findIndex((l) => l.includes('severity: 7')) + 1;
      const column = text.split('\n')[line - 1].indexOf('7') + 1;
      const run = await runCli(['replay', alerting, '--rules', rules.path]);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`${file}:${line}:${column}: `);
      expect(run.stderr).toMatch(/severity/);
      expect(run.stdout).toBe('');
      expectNoStackTrace(run);
    } finally {
      rules.remove();
    }
  });

  it('a rule directory with broken YAML: file:line:column', async () => {
    const rules = tempDir();
    try {
      const file = rules.file('broken.yaml', 'rules:\n  - id: 9000001\n    name: [unclosed\n');
      const run = await runCli(['replay', alerting, '--rules', rules.path]);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(new RegExp(`${escapeRegExp(file)}:\\d+:\\d+: `));
      expectNoStackTrace(run);
    } finally {
      rules.remove();
    }
  });

  it('a rule directory that does not exist', async () => {
    const run = await runCli(['replay', alerting, '--rules', `${dir.path}/no-rules-here`]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no-rules-here');
    expectNoStackTrace(run);
  });

  it('a --config with a value out of range names the file and the key', async () => {
    const config = dir.file('bad-value.yaml', 'evidence: partial\n');
    const run = await runCli(['replay', alerting, '--config', config]);
    expect(run.code).toBe(2);
    expect(messages(run)).toHaveLength(1);
    expect(messages(run)[0]).toMatch(new RegExp(`^wardwatch: error: ${escapeRegExp(config)}: evidence: `));
    expect(run.stdout).toBe('');
  });

  it('a --config with an unknown key', async () => {
    const config = dir.file('unknown-key.yaml', 'home_nett:\n  - 10.0.0.0/8\n');
    const run = await runCli(['replay', alerting, '--config', config]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(config);
    expect(run.stderr).toContain('home_nett');
  });

  it('a --config that is not YAML', async () => {
    const config = dir.file('broken-config.yaml', 'home_net: [10.0.0.0/8\n');
    const run = await runCli(['replay', alerting, '--config', config]);
    expect(run.code).toBe(2);
    expect(messages(run)).toHaveLength(1);
    expect(messages(run)[0]).toContain(config);
    expectNoStackTrace(run);
  });

  it('a --config that does not exist', async () => {
    const config = `${dir.path}/no-config.yaml`;
    const run = await runCli(['replay', alerting, '--config', config]);
    expect(run.code).toBe(2);
    expect(messages(run)).toHaveLength(1);
    expect(messages(run)[0]).toContain(config);
  });

  it('a bad --home-net names the bad entry', async () => {
    const run = await runCli(['replay', alerting, '--home-net', '10.0.0.0/8,10.300.0.0/16']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('10.300.0.0/16');
    expect(run.stdout).toBe('');
    expectNoStackTrace(run);
  });

  it('a bad --format, --evidence or --log-level value', async () => {
    for (const args of [
      ['--format', 'xml'],
      ['--evidence', 'partial'],
      ['--log-level', 'loud'],
    ]) {
      const run = await runCli(['replay', alerting, ...args]);
      expect(run.code, args.join(' ')).toBe(2);
      expect(messages(run), args.join(' ')).toHaveLength(1);
      expect(messages(run)[0]).toContain(args[1]);
      expect(run.stdout).toBe('');
    }
  });
});

describe('a damaged capture', () => {
  /** The HL7 flow, then a second connection whose SYN-ACK record is cut in the middle. */
  function damaged(): { file: string; offset: number; packets: number } {
    const w = new PcapWriter({ linkType: LINKTYPE.ETHERNET });
    const first = hl7Flow();
    w.addAll(first);
    const next = emptyTcpFlow({ startSec: 5 });
    w.add(next[0]);
    const offset = w.add(next[1]);
    const bytes = w.toBuffer().subarray(0, offset + 16 + 20);
    return { file: dir.file('damaged.pcap', bytes), offset, packets: first.length + 1 };
  }

  for (const threads of [[], ['--workers', '3']]) {
    it(`still reports the alert, warns once with the file and byte offset, writes stats, and exits 0 ${threads.join(' ')}`, async () => {
      const { file, offset, packets } = damaged();
      const run = await runCli(['replay', file, ...threads]);
      expect(run.code, run.stderr).toBe(0);
      const eve = parseEveLines(run.stdout);
      expect(ofType(eve, 'alert').map((r) => r.alert.signature_id)).toEqual([1000002]);
      expect(ofType(eve, 'stats')).toHaveLength(1);
      expect(ofType(eve, 'stats')[0].stats.decoder.pkts).toBe(packets);
      expect(eve.slice(-2).map((r) => r.event_type)).toEqual(['stats', 'inventory']);
      const warnings = messages(run).filter((l) => /warning/i.test(l));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(file);
      expect(warnings[0]).toContain(`byte offset ${offset}`);
      expectNoStackTrace(run);
    });
  }

  it('exits 1 with --fail-on-alert, as with an intact capture', async () => {
    const { file } = damaged();
    const run = await runCli(['replay', file, '--fail-on-alert']);
    expect(run.code).toBe(1);
  });

  it('read from standard input: the same alert and warning, named <stdin>', async () => {
    const { file, offset } = damaged();
    const run = await runCli(['replay', '-'], { stdin: readFileSync(file) });
    expect(run.code, run.stderr).toBe(0);
    expect(ofType(parseEveLines(run.stdout), 'alert')).toHaveLength(1);
    const warnings = messages(run).filter((l) => /warning/i.test(l));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`<stdin>: byte offset ${offset}`);
  });
});

describe('a reader that stops reading', () => {
  for (const format of ['json', 'text']) {
    it(`stdout closed early (replay --format ${format} | head): the run ends without a stack trace`, async () => {
      const run = await runCli(['replay', alerting, '--format', format], { closeStdout: true });
      expect(run.signal).toBeNull();
      expectNoStackTrace(run);
    });
  }
});
