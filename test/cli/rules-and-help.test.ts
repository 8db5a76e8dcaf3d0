import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { escapeRegExp, lines, REPO_ROOT, runCli, tempDir } from '../support/cli.js';

/** The shipped pack as README.md's table promises it: rule ids are a contract with SIEMs. */
const SHIPPED_RULES: Array<[id: number, severity: number]> = [
  [1000001, 1],
  [1000002, 1],
  [1000003, 2],
  [1000004, 1],
  [1000005, 2],
  [1000006, 3],
  [1000007, 2],
  [1000008, 2],
];
const SEVERITY_NAMES: Record<number, string> = { 1: 'high', 2: 'medium', 3: 'low' };

describe('rules check', () => {
  it('passes on the shipped pack with exit 0', async () => {
    const run = await runCli(['rules', 'check']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^8 rules in 1 files, \d+ indicators in \d+ lists: OK$/m);
    expect(run.stderr).toBe('');
  });

  it('exits 2 with file:line:column for a bad rule file', async () => {
    const rules = tempDir();
    try {
      const text = ['rules:', '  - id: 9000001', '    rev: one', '    name: Test rule', '    category: Test', '    severity: 3', '    match:', '      proto: tcp', ''].join('\n');
      const file = rules.file('pack.yaml', text);
      const line = text.split('\n').findIndex((l) => l.includes('rev: one')) + 1;
      const column = text.split('\n')[line - 1].indexOf('one') + 1;
      const run = await runCli(['rules', 'check', '--rules', rules.path]);
      expect(run.code).toBe(2);
      expect(lines(run.stderr)).toHaveLength(1);
      expect(lines(run.stderr)[0]).toMatch(new RegExp(`^${escapeRegExp(file)}:${line}:${column}: .*rev`));
      expect(run.stdout).toBe('');
    } finally {
      rules.remove();
    }
  });

  it('exits 2 with file:line:column for YAML that does not parse', async () => {
    const rules = tempDir();
    try {
      const file = rules.file('pack.yaml', 'rules:\n  - id: [9000001\n');
      const run = await runCli(['rules', 'check', '--rules', rules.path]);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(new RegExp(`^${escapeRegExp(file)}:\\d+:\\d+: `, 'm'));
    } finally {
      rules.remove();
    }
  });

  it('exits 2 naming file and line when a threshold, suppression or unless_alerted names no rule', async () => {
    const rules = tempDir();
    try {
      const text = [
        'rules:',
        '  - id: 9000001',
        '    name: Test rule',
        '    category: Test',
        '    severity: 3',
        '    match:',
        '      proto: tcp',
        '      unless_alerted: [9000001, 9000042]',
        'thresholds:',
        '  - id: 9000077',
        '    type: limit',
        '    track: by_src',
        '    count: 1',
        '    seconds: 60',
        'suppressions:',
        '  - id: 9000001',
        '  - id: 9000099',
        '',
      ].join('\n');
      const file = rules.file('pack.yaml', text);
      const lineOf = (needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;
      const run = await runCli(['rules', 'check', '--rules', rules.path]);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(new RegExp(`^${escapeRegExp(file)}:${lineOf('unless_alerted')}:\\d+: no rule has id 9000042$`, 'm'));
      expect(run.stderr).toMatch(new RegExp(`^${escapeRegExp(file)}:${lineOf('9000077')}:\\d+: no rule has id 9000077$`, 'm'));
      expect(run.stderr).toMatch(new RegExp(`^${escapeRegExp(file)}:${lineOf('9000099')}:\\d+: no rule has id 9000099$`, 'm'));
      expect(run.stderr).not.toMatch(/no rule has id 9000001/);
    } finally {
      rules.remove();
    }
  });

  it('reports a bad line of an extra indicator list and still passes', async () => {
    const list = tempDir();
    try {
      const file = list.file('extra.txt', '198.51.100.77 lab server\nnot-an-address\n');
      const run = await runCli(['rules', 'check', '--indicators', file]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toContain(file);
      expect(run.stderr).toContain('not-an-address');
    } finally {
      list.remove();
    }
  });
});

describe('rules list', () => {
  it('prints the shipped rule ids with their severities', async () => {
    const run = await runCli(['rules', 'list']);
    expect(run.code, run.stderr).toBe(0);
    const rows = lines(run.stdout).map((l) => l.split('\t'));
    expect(rows.map((r) => Number(r[0]))).toEqual(SHIPPED_RULES.map(([id]) => id));
    for (const [i, [, severity]] of SHIPPED_RULES.entries()) {
      expect(rows[i][1]).toBe(`${severity} (${SEVERITY_NAMES[severity]})`);
      expect(rows[i][2].length).toBeGreaterThan(0);
    }
  });
});

describe('help and version', () => {
  it('--help describes the program, its commands and examples', async () => {
    const run = await runCli(['--help']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('Usage: wardwatch');
    expect(run.stdout).toMatch(/replay/);
    expect(run.stdout).toMatch(/rules/);
    // README.md: "wardwatch --help, wardwatch <command> --help: usage with examples".
    expect(run.stdout).toMatch(/Examples?:/);
  });

  for (const command of [['replay'], ['rules', 'check'], ['rules', 'list']]) {
    it(`${command.join(' ')} --help shows its usage with an example`, async () => {
      const run = await runCli([...command, '--help']);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain(`Usage: wardwatch ${command.join(' ')}`);
      expect(run.stdout).toMatch(/Examples?:\n {2}wardwatch /);
    });
  }

  it('replay --help lists the options README.md documents and the exit codes', async () => {
    const run = await runCli(['replay', '--help']);
    for (const option of ['--rules', '--home-net', '--indicators', '--eve', '--format', '--evidence', '--flows', '--fail-on-alert', '--log-level', '--config', '-r, --read']) {
      expect(run.stdout, option).toContain(option);
    }
    expect(run.stdout).toMatch(/Exit codes: 0 .*1 .*\n?.*2 /s);
  });

  it('--version prints the version of package.json', async () => {
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    const run = await runCli(['--version']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe(version);
  });
});
