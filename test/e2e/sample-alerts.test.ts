/**
 * Every sample capture through the built command line, as a user runs it: `wardwatch replay
 * <capture> --format json` must raise exactly the alerts its `<capture>.expected.json` names,
 * by rule id and count. The expectations come from the rules and the traffic (see
 * pcaps/README.md), not from an earlier run.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { scenarios } from '../../tools/make-pcaps.js';
import { expectationJson } from '../../tools/scenarios/index.js';
import { REPO_ROOT, SAMPLES_DIR } from '../support/captures.js';
import { CLI_MAIN, CLI_NODE_FLAGS } from '../support/cli.js';

const run = promisify(execFile);

interface ExpectedFile {
  alerts: Record<string, number>;
  args?: string[];
}

const captures = readdirSync(SAMPLES_DIR)
  .filter((name) => /\.(pcap|pcapng)(\.gz)?$/.test(name))
  .sort();

const expectedPath = (capture: string): string => join(SAMPLES_DIR, `${capture}.expected.json`);

function readExpected(capture: string): ExpectedFile {
  const parsed = JSON.parse(readFileSync(expectedPath(capture), 'utf8')) as ExpectedFile;
  expect(typeof parsed.alerts, `${capture}.expected.json: "alerts" must be an object`).toBe('object');
  return parsed;
}

/** Alert counts by signature id from EVE JSON lines; any line that is not a JSON object fails. */
function alertCounts(stdout: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of stdout.split('\n')) {
    if (line.trim() === '') continue;
    const record = JSON.parse(line) as { event_type?: string; alert?: { signature_id?: number } };
    if (record.event_type !== 'alert') continue;
    const id = String(record.alert?.signature_id);
    counts[id] = (counts[id] ?? 0) + 1;
  }
  return counts;
}

describe('wardwatch replay raises exactly the expected alerts on every sample capture', () => {
  it('every capture in pcaps/ has an expected-alerts file', () => {
    expect(captures.length).toBeGreaterThan(0);
    expect(captures.filter((c) => !existsSync(expectedPath(c)))).toEqual([]);
  });

  it('the expected-alerts files are the ones tools/make-pcaps.ts writes (run it again after changing an expectation)', () => {
    for (const s of scenarios) {
      expect(s.expected, `${s.file}: the scenario states no expected alerts`).toBeDefined();
      expect(readFileSync(expectedPath(s.file), 'utf8'), s.file).toBe(expectationJson(s.expected!));
    }
  });

  for (const capture of captures) {
    it(capture, async () => {
      const expected = readExpected(capture);
      const { stdout } = await run(process.execPath, [...CLI_NODE_FLAGS, CLI_MAIN, 'replay', join(SAMPLES_DIR, capture), '--format', 'json', ...(expected.args ?? [])], {
        cwd: REPO_ROOT,
        maxBuffer: 64 * 1024 * 1024,
      });
      expect(alertCounts(stdout)).toEqual(expected.alerts);
    });
  }
});
