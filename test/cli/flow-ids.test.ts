/**
 * Flow ids differ between runs, so a SIEM holding the records of many runs never joins two
 * different flows by id; within a run an alert and its flow record share the id, whichever thread
 * analysed the flow; a salt fixed in the configuration gives the same ids on every run.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLES_DIR } from '../support/captures.js';
import { ofType, parseEveLines, runCli, tempDir, type TempDir } from '../support/cli.js';

const CAPTURES = ['cms8000-to-indicator.pcap', 'busybox-nfs-mount-udp.pcap', 'hl7-mllp-external-515.pcap'].map((c) => join(SAMPLES_DIR, c));

let dir: TempDir;
beforeAll(() => {
  dir = tempDir();
});
afterAll(() => dir.remove());

/** Flow ids of the run's flow records, in order, and whether every alert's id is one of them. */
async function flowIds(extra: string[] = []): Promise<{ ids: number[]; alertsMatch: boolean }> {
  const run = await runCli(['replay', ...CAPTURES, '--flows', '--format', 'json', ...extra]);
  expect(run.code, run.stderr).toBe(0);
  const eve = parseEveLines(run.stdout);
  const ids = ofType(eve, 'flow').map((f) => f.flow_id as number);
  const alerts = ofType(eve, 'alert');
  expect(alerts.length).toBeGreaterThan(0);
  return { ids: ids.sort((a, b) => a - b), alertsMatch: alerts.every((a) => ids.includes(a.flow_id)) };
}

describe('flow ids', () => {
  it('two runs over the same captures hand out different ids', async () => {
    const [a, b] = [await flowIds(), await flowIds()];
    expect(a.alertsMatch && b.alertsMatch).toBe(true);
    expect(a.ids.filter((id) => b.ids.includes(id))).toEqual([]);
  });

  it('flow.id_salt in the configuration gives the same ids on every run, with or without worker threads', async () => {
    const config = ['--config', dir.file('salt.yaml', 'flow:\n  id_salt: 20250130\n')];
    const [a, b] = [await flowIds(config), await flowIds(config)];
    expect(a.ids).toEqual(b.ids);
    const [w1, w2] = [await flowIds([...config, '--workers', '2']), await flowIds([...config, '--workers', '2'])];
    expect(w1.alertsMatch && w2.alertsMatch).toBe(true);
    expect(w1.ids).toEqual(w2.ids);
    expect(new Set(w1.ids).size).toBe(w1.ids.length);
  });
});
