/**
 * The shipped sample captures, replayed through the command line one by one: the alerts per rule
 * must be those written beside each sample in `<capture>.expected.json`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lines, ofType, parseEveLines, REPO_ROOT, runCli } from '../support/cli.js';

const SAMPLES_DIR = join(REPO_ROOT, 'pcaps');
const expectations = existsSync(SAMPLES_DIR)
  ? readdirSync(SAMPLES_DIR)
      .filter((n) => n.endsWith('.expected.json') && existsSync(join(SAMPLES_DIR, n.slice(0, -'.expected.json'.length))))
      .sort()
  : [];

describe('sample captures through the command line', () => {
  it('there are samples with expected alerts', () => {
    expect(expectations.length).toBeGreaterThan(0);
  });

  for (const name of expectations) {
    const capture = name.slice(0, -'.expected.json'.length);
    it(`${capture}: the alerts per rule match ${name}`, async () => {
      const stated = JSON.parse(readFileSync(join(SAMPLES_DIR, name), 'utf8')) as { alerts: Record<string, number>; args?: string[]; warnings?: string[] };
      const expected = stated.alerts;
      const run = await runCli(['replay', join(SAMPLES_DIR, capture), '--format', 'json', '--log-level', 'warn', ...(stated.args ?? [])]);
      expect(run.code, run.stderr).toBe(0);
      const warnings = lines(run.stderr).filter((l) => l.startsWith('wardwatch:'));
      const wanted = stated.warnings ?? [];
      expect(warnings, run.stderr).toHaveLength(wanted.length);
      wanted.forEach((text, i) => expect(warnings[i]).toContain(text));
      const counts: Record<string, number> = {};
      for (const alert of ofType(parseEveLines(run.stdout), 'alert')) {
        const id = String(alert.alert.signature_id);
        counts[id] = (counts[id] ?? 0) + 1;
      }
      expect(counts).toEqual(expected);
    });
  }
});
