/**
 * File outputs of a long-running sensor: reopened after log rotation renamed them, rotated by
 * interval to names from a pattern, appended to in live runs, and refused in the config when the
 * rotation could not name its files.
 */
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatPath, OutputFile, parseInterval } from '../../src/output/output-file.js';
import { openOutput, outputSpec } from '../../src/output/registry.js';
import { EveOutput } from '../../src/output/eve-output.js';
import { Inventory } from '../../src/output/inventory.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wardwatch-output-file-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const lines = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean);
const context = { evidence: 'redacted' as const, flows: false, onFailure: () => undefined };

/** A record to write: the (empty) inventory. */
const record = new Inventory().snapshot();

describe('rotation intervals and names', () => {
  it('reads 30s, 15m, 1h, 1d and plain seconds, and refuses what is not an interval', () => {
    expect(parseInterval('30s')).toBe(30_000);
    expect(parseInterval('15m')).toBe(900_000);
    expect(parseInterval('1h')).toBe(3_600_000);
    expect(parseInterval('1d')).toBe(86_400_000);
    expect(parseInterval(90)).toBe(90_000);
    for (const bad of ['', 'hourly', '0', '-1h', '1w']) expect(() => parseInterval(bad), bad).toThrow(/not an interval/);
  });

  it('names a file by strftime conversions of local time', () => {
    const ms = new Date(2026, 2, 7, 9, 5, 3).getTime();
    expect(formatPath('/var/log/eve-%Y%m%d-%H%M%S.json', ms)).toBe('/var/log/eve-20260307-090503.json');
    expect(formatPath('eve-%s-100%%.json', ms)).toBe(`eve-${Math.floor(ms / 1000)}-100%.json`);
  });

  it('names each period after its start and moves to the next name when the period is over', () => {
    const hour = 3_600_000;
    const t0 = new Date(2026, 0, 1, 10, 20).getTime();
    const file = new OutputFile(join(dir, 'eve-%H%M.json'), { private: false, append: true, rotateIntervalMs: hour }, t0);
    expect(file.path).toBe(join(dir, 'eve-1000.json'));
    expect(file.rotateIfDue(t0 + 30 * 60_000)).toBeNull();
    const next = file.rotateIfDue(t0 + 40 * 60_000);
    expect(next).not.toBeNull();
    next!.end();
    expect(file.path).toBe(join(dir, 'eve-1100.json'));
  });
});

describe('file outputs', () => {
  it('after a rename and reopen, the old file keeps every record written before and the new file every one after', async () => {
    const path = join(dir, 'eve.json');
    const out = openOutput({ type: 'eve', path }, context);
    for (let i = 0; i < 500; i++) out.inventory(record);
    renameSync(path, `${path}.1`);
    out.reopen!();
    for (let i = 0; i < 300; i++) out.inventory(record);
    await out.close();
    expect(lines(`${path}.1`)).toHaveLength(500);
    expect(lines(path)).toHaveLength(300);
    for (const line of [...lines(`${path}.1`), ...lines(path)]) expect(JSON.parse(line).event_type).toBe('inventory');
    expect(out.health).toMatchObject({ written: 800, dropped: 0, error: null });
  });

  it('appends when the run asks for it (live), and truncates otherwise (replay)', async () => {
    const path = join(dir, 'eve.json');
    writeFileSync(path, '{"event_type":"stats"}\n');
    const live = openOutput({ type: 'eve', path }, { ...context, append: true });
    live.inventory(record);
    await live.close();
    expect(lines(path)).toHaveLength(2);
    const replay = openOutput({ type: 'eve', path }, context);
    replay.inventory(record);
    await replay.close();
    expect(lines(path)).toHaveLength(1);
  });

  it('writes each period of rotate_interval to its own file, every record once', async () => {
    const spec = outputSpec.parse({ type: 'eve', path: join(dir, 'eve-%s.json'), rotate_interval: '1s' });
    const out = openOutput(spec, context) as EveOutput;
    let written = 0;
    const until = Date.now() + 2300;
    while (Date.now() < until) {
      out.inventory(record);
      written++;
      await new Promise((r) => setTimeout(r, 50));
    }
    await out.close();
    const files = readdirSync(dir).sort();
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const f of files) expect(f).toMatch(/^eve-\d+\.json$/);
    expect(files.reduce((n, f) => n + lines(join(dir, f)).length, 0)).toBe(written);
  });

  it('refuses rotate_interval on a path that would name every period the same, and a bad interval', () => {
    const bad = outputSpec.safeParse({ type: 'eve', path: '/var/log/wardwatch/eve.json', rotate_interval: '1h' });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0].message).toMatch(/rotate_interval needs a path that names each period's file/);
    const interval = outputSpec.safeParse({ type: 'eve', path: 'eve-%Y.json', rotate_interval: 'hourly' });
    expect(interval.success).toBe(false);
    expect(interval.error!.issues[0].message).toMatch(/'hourly' is not an interval/);
  });
});
