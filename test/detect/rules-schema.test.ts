import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RuleLoadError, loadRuleDir, parseRuleFile } from '../../src/detect/rule-loader.js';
import { RuleSet } from '../../src/detect/rule-set.js';
import { SHIPPED_RULES_DIR, positionOf, removeTempDirs, tempDir } from '../support/detect-harness.js';

afterEach(removeTempDirs);

/** One rule in block style; `match` lines are written as they stand under `match:`. */
function ruleText(id: number, match: string[], head: string[] = [`name: rule ${id}`, 'category: Test', 'severity: 2']): string {
  return [`  - id: ${id}`, ...head.map((l) => `    ${l}`), '    match:', ...match.map((l) => `      ${l}`)].join('\n') + '\n';
}

/** Where the value of a `key: value` line starts. */
function valueAt(text: string, keyValue: string): { line: number; column: number } {
  const at = positionOf(text, keyValue);
  return { line: at.line, column: at.column + keyValue.indexOf(': ') + 2 };
}

function fileOf(...rules: string[]): string {
  return 'rules:\n' + rules.join('');
}

/** Loads a directory that must be rejected and returns its problems. */
async function rejected(files: Record<string, string>): Promise<{ dir: string; problems: string[] }> {
  const dir = tempDir(files);
  const outcome = await RuleSet.load({ rulesDir: dir }).then(
    () => null,
    (err: unknown) => err,
  );
  expect(outcome).toBeInstanceOf(RuleLoadError);
  return { dir, problems: (outcome as RuleLoadError).problems };
}

/** The single problem of a one-file directory, split into location and message. */
async function onlyProblem(text: string): Promise<{ file: string; line: number; column: number; message: string }> {
  const { dir, problems } = await rejected({ 'site.yaml': text });
  expect(problems).toHaveLength(1);
  const m = /^(.*):(\d+):(\d+): (.*)$/s.exec(problems[0]);
  expect(m, problems[0]).not.toBeNull();
  expect(m![1]).toBe(join(dir, 'site.yaml'));
  return { file: m![1], line: Number(m![2]), column: Number(m![3]), message: m![4] };
}

describe('rule file problems are reported as file:line:column and reject the set', () => {
  it('reports a YAML syntax error where the parser stopped', async () => {
    const text = fileOf(ruleText(1000101, ['server: @evil']));
    const problem = await onlyProblem(text);
    expect({ line: problem.line, column: problem.column }).toEqual(positionOf(text, '@evil'));
    expect(problem.message).toMatch(/reserved character @/);
  });

  it('reports a key given twice in one map', async () => {
    const text = fileOf(ruleText(1000102, ['proto: tcp', 'proto: udp']));
    const problem = await onlyProblem(text);
    expect(problem.line).toBe(positionOf(text, 'proto: udp').line);
    expect(problem.message).toMatch(/unique/i);
  });

  it('reports an alias to no anchor at the alias, instead of failing the load', async () => {
    const text = fileOf(ruleText(1000113, ['proto: tcp', 'server: *printer']));
    const problem = await onlyProblem(text);
    expect({ line: problem.line, column: problem.column }).toEqual(positionOf(text, '*printer'));
    expect(problem.message).toMatch(/^Unresolved alias .*printer/);
  });

  it('refuses aliases that expand a billionfold, at the first alias', async () => {
    const laughs = ['a: &a [x, x, x, x, x, x, x, x, x]', 'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]', 'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]', 'd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]'];
    const text = laughs.join('\n') + '\n' + fileOf(ruleText(1000114, ['proto: tcp']));
    const problem = await onlyProblem(text);
    expect(problem.line).toBe(2);
    expect(problem.message).toMatch(/^Excessive alias count/);
  });

  it('reports a missing name at the rule that lacks it', async () => {
    const text = fileOf(ruleText(1000103, ['proto: tcp']), ruleText(1000104, ['proto: tcp'], ['category: Test', 'severity: 2']));
    const problem = await onlyProblem(text);
    // The second rule starts at its `id` key.
    expect({ line: problem.line, column: problem.column }).toEqual(positionOf(text, 'id: 1000104'));
    expect(problem.message).toMatch(/\bname\b/);
    expect(problem.message).toMatch(/rules\.1\.name/);
  });

  it('reports severity 4 at the value, naming the allowed severities', async () => {
    const text = fileOf(ruleText(1000105, ['proto: tcp'], ['name: x', 'category: Test', 'severity: 4']));
    const problem = await onlyProblem(text);
    expect({ line: problem.line, column: problem.column }).toEqual(valueAt(text, 'severity: 4'));
    expect(problem.message).toMatch(/severity is 1 \(high\), 2 \(medium\) or 3 \(low\)/);
  });

  it('reports an unknown key in match at the key, naming it', async () => {
    // A typo of `event`: the key's own line is where the rule author must look.
    const text = fileOf(ruleText(1000106, ['proto: tcp', 'evnt:', '  type: hl7.message']));
    const problem = await onlyProblem(text);
    expect(problem.message).toMatch(/"evnt"/);
    expect({ line: problem.line, column: problem.column }).toEqual(positionOf(text, 'evnt:'));
  });

  it('reports an unknown key with a scalar value at the key', async () => {
    const text = fileOf(ruleText(1000107, ['proto: tcp', 'sever_port: 515']));
    const problem = await onlyProblem(text);
    expect(problem.message).toMatch(/"sever_port"/);
    expect({ line: problem.line, column: problem.column }).toEqual(positionOf(text, 'sever_port'));
  });

  it('reports an unknown event type at the type, naming it', async () => {
    const text = fileOf(ruleText(1000108, ['event:', '  type: hl7.msg']));
    const problem = await onlyProblem(text);
    expect({ line: problem.line, column: problem.column }).toEqual(positionOf(text, 'hl7.msg'));
    expect(problem.message).toContain('hl7.msg');
  });

  it('names only the unknown entries of an event type list', async () => {
    const problem = await onlyProblem(fileOf(ruleText(1000111, ['event:', '  type: [hl7.message, mount.cal]'])));
    expect(problem.message).toMatch(/^unknown event type "mount\.cal" \(known: /);
  });

  it('says an event without a type needs one, rather than calling the type unknown', async () => {
    const problem = await onlyProblem(fileOf(ruleText(1000112, ['event:', '  tpye: hl7.message'])));
    expect(problem.message).toMatch(/^an event needs a type \(known: hl7\.message/);
  });

  it('reports a field the event does not have at the field, listing the fields it has', async () => {
    const text = fileOf(ruleText(1000109, ['event:', '  type: mount.call', '  queue: lp']));
    const problem = await onlyProblem(text);
    expect(problem.message).toMatch(/event mount\.call has no field 'queue'/);
    expect(problem.message).toMatch(/fields: version, procedure, path/);
    expect({ line: problem.line, column: problem.column }).toEqual(positionOf(text, 'queue: lp'));
  });

  it('requires a field to exist on every type of a type list', async () => {
    // `queue` is an lpd.command field, but hl7.message has none.
    const problem = await onlyProblem(fileOf(ruleText(1000110, ['event:', '  type: [lpd.command, hl7.message]', '  queue: lp'])));
    expect(problem.message).toMatch(/event lpd\.command\/hl7\.message has no field 'queue'/);
  });

  it("refuses 'event' on a rule evaluated at flow end, pointing at the event", async () => {
    const text = fileOf(ruleText(1000111, ['at: flow_end', 'event:', '  type: hl7.message']));
    const problem = await onlyProblem(text);
    expect(problem.message).toMatch(/'event' only triggers rules evaluated 'at: event', not 'flow_end' \(use 'seen' instead\)/);
    expect({ line: problem.line, column: problem.column }).toEqual(positionOf(text, 'event:'));
  });

  it("refuses 'at: event' without an event", async () => {
    const text = fileOf(ruleText(1000112, ['at: event']));
    const problem = await onlyProblem(text);
    expect(problem.message).toMatch(/'at: event' needs an 'event'/);
    expect(problem.line).toBe(positionOf(text, 'at: event').line);
  });

  it.each([
    ['port 99999', 'server_port: 99999', '99999', /invalid port '99999'/],
    ['range 520-515', 'server_port: 520-515', '520-515', /invalid port '520-515'/],
    ['negated nothing', 'client_port: "!"', '"!"', /invalid port '!'/],
    ['word in a port list', 'server_port: [515, lpd]', '[515, lpd]', /invalid port 'lpd'/],
  ])('reports a bad port (%s) at the value', async (_name, line, value, message) => {
    const text = fileOf(ruleText(1000113, ['proto: tcp', line]));
    const problem = await onlyProblem(text);
    expect(problem.message).toMatch(message);
    expect({ line: problem.line, column: problem.column }).toEqual(positionOf(text, value));
  });

  it.each([
    ['prefix too long', 'server: 10.0.0.0/33', '10.0.0.0/33'],
    ['octet too large', 'client: 300.1.1.1', '300.1.1.1'],
    ['bad IPv6', 'server: "2001:db8::g"', '2001:db8::g'],
  ])('reports a bad address or CIDR (%s) naming it', async (_name, line, bad) => {
    const text = fileOf(ruleText(1000114, [line]));
    const problem = await onlyProblem(text);
    expect(problem.message).toContain(`invalid address or CIDR '${bad}'`);
    expect(problem.line).toBe(positionOf(text, bad).line);
  });

  it('reports an unknown $VAR, listing the known ones', async () => {
    const text = fileOf(ruleText(1000115, ['client: $HOME_NET', 'server: [$HOSPITAL_NET, 10.0.0.0/8]']));
    const problem = await onlyProblem(text);
    expect(problem.message).toMatch(/unknown address variable '\$HOSPITAL_NET' \(known: \$HOME_NET, \$EXTERNAL_NET\)/);
    expect(problem.line).toBe(positionOf(text, '$HOSPITAL_NET').line);
  });

  it('reports a duplicate id at the second definition, citing the first', async () => {
    const a = fileOf(ruleText(1000116, ['proto: tcp']), ruleText(1000117, ['proto: udp']));
    const b = fileOf(ruleText(1000118, ['proto: tcp']), ruleText(1000117, ['proto: icmp']));
    const { dir, problems } = await rejected({ 'a.yaml': a, 'b.yaml': b });
    const first = positionOf(a, '1000117');
    const second = positionOf(b, '1000117');
    expect(problems).toEqual([
      `${join(dir, 'b.yaml')}:${second.line}:${second.column}: duplicate rule id 1000117 (first defined at ${join(dir, 'a.yaml')}:${first.line}:${first.column})`,
    ]);
  });

  it('rejects every file when one of them is bad, and reports only the bad one', async () => {
    const good = (id: number) => fileOf(ruleText(id, ['proto: tcp', 'server_port: 515']));
    const files = { 'a-good.yaml': good(1000120), 'b-bad.yaml': fileOf(ruleText(1000121, ['server_port: 70000'])), 'c-good.yaml': good(1000122) };
    const { dir, problems } = await rejected(files);
    expect(problems).toHaveLength(1);
    expect(problems[0].startsWith(`${join(dir, 'b-bad.yaml')}:`)).toBe(true);
    await expect(loadRuleDir(dir)).resolves.toHaveLength(3); // the files parse; compiling them fails
  });

  it('reports the problems of every bad file at once', async () => {
    const { dir, problems } = await rejected({
      'a.yaml': fileOf(ruleText(1000123, ['proto: tcp'], ['name: x', 'category: Test', 'severity: 0'])),
      'b.yaml': fileOf(ruleText(1000124, ['proto: sctp'])),
      'c.yaml': 'rules: [\n',
    });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual([join(dir, 'a.yaml'), join(dir, 'b.yaml'), join(dir, 'c.yaml')]);
  });

  it('rejects a syntax error in one file even when the others are good', async () => {
    const dir = tempDir({ 'a.yaml': fileOf(ruleText(1000125, ['proto: tcp'])), 'b.yaml': 'rules:\n  - id: 1000126\n    name: x: y\n' });
    await expect(loadRuleDir(dir)).rejects.toThrow(RuleLoadError);
    await expect(RuleSet.load({ rulesDir: dir })).rejects.toThrow(/b\.yaml:3:\d+: /);
  });

  it('rejects an empty rules directory', async () => {
    const dir = tempDir({ 'notes.txt': 'not a rule file' });
    await expect(RuleSet.load({ rulesDir: dir })).rejects.toThrow(new RuleLoadError([`${dir}: no rule files (*.yaml) found`]));
  });

  it('rejects a rules directory that does not exist', async () => {
    const dir = join(tempDir(), 'missing');
    const err = await RuleSet.load({ rulesDir: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuleLoadError);
    expect((err as RuleLoadError).problems).toEqual([`${dir}: cannot read rules directory: ENOENT`]);
  });

  it('rejects a bad HOME_NET before reading any rule', async () => {
    await expect(RuleSet.load({ rulesDir: SHIPPED_RULES_DIR, homeNet: ['10.0.0.0/8', '10.0.0.0/40'] })).rejects.toThrow(/HOME_NET: .*10\.0\.0\.0\/40/);
  });

  it('accepts a file with only comments as a file without rules', async () => {
    const dir = tempDir({ 'a.yaml': fileOf(ruleText(1000127, ['proto: tcp'])), 'b.yaml': '# rules to come\n' });
    const { ruleSet } = await RuleSet.load({ rulesDir: dir });
    expect(ruleSet.rules.map((r) => r.id)).toEqual([1000127]);
    expect(ruleSet.files).toEqual([join(dir, 'a.yaml'), join(dir, 'b.yaml')]);
  });

  it('leaves a disabled rule out of the set but still reserves its id', async () => {
    const text = fileOf(ruleText(1000128, ['proto: tcp'], ['name: off', 'category: Test', 'severity: 2', 'enabled: false']), ruleText(1000129, ['proto: tcp']));
    const { ruleSet } = await RuleSet.load({ rulesDir: tempDir({ 'a.yaml': text }) });
    expect(ruleSet.rules.map((r) => r.id)).toEqual([1000129]);
    const { problems } = await rejected({ 'a.yaml': text, 'b.yaml': fileOf(ruleText(1000128, ['proto: udp'])) });
    expect(problems[0]).toMatch(/duplicate rule id 1000128/);
  });

  it('parses a rule file given as text, with its defaults', () => {
    const text = fileOf(ruleText(1000130, ['proto: tcp']));
    const loaded = parseRuleFile('inline.yaml', text);
    expect(Array.isArray(loaded)).toBe(false);
    if (Array.isArray(loaded)) return;
    const [rule] = loaded.content.rules;
    expect(rule).toMatchObject({ id: 1000130, rev: 1, per_flow: 'once', enabled: true, references: [] });
    expect(loaded.content.thresholds).toEqual([]);
    expect(loaded.content.suppressions).toEqual([]);
    expect(loaded.locate(['rules', 0, 'match', 'proto'])).toEqual({ file: 'inline.yaml', ...valueAt(text, 'proto: tcp') });
  });
});

describe('the shipped rule pack', () => {
  it('loads with no problem and no warning', async () => {
    const { ruleSet, warnings, indicatorCounts } = await RuleSet.load({ rulesDir: SHIPPED_RULES_DIR });
    expect(warnings).toEqual([]);
    expect(ruleSet.rules.map((r) => r.id)).toEqual([1000001, 1000002, 1000003, 1000004, 1000005, 1000006, 1000007, 1000008]);
    expect(ruleSet.files).toEqual([join(SHIPPED_RULES_DIR, 'contec-cms8000.yaml')]);
    expect(indicatorCounts).toEqual([{ file: join(SHIPPED_RULES_DIR, 'indicators', 'contec-cms8000.csv'), loaded: 3, skipped: 0 }]);
  });

  it('knows where each rule stands in its file', async () => {
    const { ruleSet } = await RuleSet.load({ rulesDir: SHIPPED_RULES_DIR });
    const file = join(SHIPPED_RULES_DIR, 'contec-cms8000.yaml');
    const text = readFileSync(file, 'utf8');
    for (const rule of ruleSet.rules) {
      const at = positionOf(text, `id: ${rule.id}`);
      expect(rule.location).toEqual({ file, line: at.line, column: at.column });
    }
  });
});

describe('host roles', () => {
  const roles = (body: string) => `host_roles:\n${body}`;
  const monitorRole = '  monitor:\n    description: a patient monitor\n    identified_by:\n      event:\n        type: cms8000.detected\n      side: client\n';

  it('reports a rule naming a role no file defines, where it names it', async () => {
    const text = roles(monitorRole) + fileOf(ruleText(1000111, ['server_role: pump']));
    const problem = await onlyProblem(text);
    expect({ line: problem.line, column: problem.column }).toEqual(valueAt(text, 'server_role: pump'));
    expect(problem.message).toBe("unknown host role 'pump' (defined: monitor; see host_roles)");
  });

  it('reports a role defined in two files, naming the first', async () => {
    const { dir, problems } = await rejected({ 'a.yaml': roles(monitorRole), 'b.yaml': roles(monitorRole) });
    expect(problems).toEqual([`${join(dir, 'b.yaml')}:3:5: duplicate host role 'monitor' (first defined at ${join(dir, 'a.yaml')}:3:5)`]);
  });

  it('refuses a role that nothing could give a host', async () => {
    const problem = await onlyProblem(roles('  monitor:\n    description: a patient monitor\n') + fileOf(ruleText(1000112, ['server_role: monitor'])));
    expect(problem.message).toMatch(/a host role needs listed_in, identified_by or both/);
  });

  it('refuses a role identified by an event field that does not exist', async () => {
    const text = roles('  monitor:\n    description: a patient monitor\n    identified_by:\n      event:\n        type: cms8000.detected\n        queue: lp\n      side: client\n');
    const problem = await onlyProblem(text + fileOf(ruleText(1000113, ['server_role: monitor'])));
    expect(problem.message).toMatch(/event cms8000.detected has no field 'queue'/);
  });

  it('warns when monitors lists are given but no role uses them', async () => {
    const dir = tempDir({ 'site.yaml': fileOf(ruleText(1000114, ['proto: udp'])), 'monitors.txt': '10.20.30.40\n' });
    const { warnings, monitorCounts } = await RuleSet.load({ rulesDir: dir, monitorFiles: [join(dir, 'monitors.txt')] });
    expect(warnings).toContain(`no host role of the rules is listed_in: monitors, so the monitors lists are not used: ${join(dir, 'monitors.txt')}`);
    expect(monitorCounts).toEqual([{ file: join(dir, 'monitors.txt'), loaded: 1, skipped: 0 }]);
  });

  it('a monitors list given as a pipe, as <(...) gives it, is read once and its addresses loaded', async () => {
    const dir = tempDir();
    const fifo = join(dir, 'monitors.fifo');
    execFileSync('mkfifo', [fifo]);
    const writer = spawn('sh', ['-c', 'printf "10.20.30.40\\n10.20.30.41\\n" > "$1"', 'sh', fifo]);
    try {
      const { monitorCounts } = await RuleSet.load({ rulesDir: SHIPPED_RULES_DIR, monitorFiles: [fifo] });
      expect(monitorCounts).toEqual([{ file: fifo, loaded: 2, skipped: 0 }]);
    } finally {
      writer.kill();
    }
  });

  it('an unreadable monitors list rejects the set, one line naming it', async () => {
    const missing = join(tempDir(), 'no-such-monitors.txt');
    const outcome = await RuleSet.load({ rulesDir: SHIPPED_RULES_DIR, monitorFiles: [missing] }).catch((err: unknown) => err);
    expect(outcome).toBeInstanceOf(RuleLoadError);
    expect((outcome as RuleLoadError).problems).toEqual([`${missing}: cannot read monitors list: ENOENT`]);
  });
});
