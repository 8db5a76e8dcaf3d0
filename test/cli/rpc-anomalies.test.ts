/**
 * What the RPC analyzer counts when a peer breaks RFC 5531 reaches the run's stats record, as a
 * user replaying a capture sees it, beside the alert the call still raises.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SAMPLES_DIR } from '../support/captures.js';
import { runCli } from '../support/cli.js';

interface EveRecord {
  event_type: string;
  alert?: { signature_id: number };
  mount?: { procedure: string; path?: string };
  wardwatch?: { app_layer?: { anomalies?: { [name: string]: number } } };
}

async function replay(file: string): Promise<EveRecord[]> {
  const result = await runCli(['replay', join(SAMPLES_DIR, file), '--format', 'json']);
  expect(result.code).toBe(0);
  return result.stdout.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as EveRecord);
}

describe('RPC anomalies in the stats record', () => {
  it('counts credentials over 400 bytes and still alerts on the MNT that carried them', async () => {
    const records = await replay('mount-oversized-auth-udp.pcap');
    const alerts = records.filter((r) => r.event_type === 'alert');
    expect(alerts.map((a) => [a.alert?.signature_id, a.mount?.path])).toEqual([[1000004, '/pm']]);
    const stats = records.filter((r) => r.event_type === 'stats');
    expect(stats.at(-1)?.wardwatch?.app_layer?.anomalies).toMatchObject({ 'rpc.oversized_auth': 1 });
  });

  it('counts the resynchronisations of a flow picked up mid-stream', async () => {
    const records = await replay('mount-midstream.pcap');
    expect(records.filter((r) => r.event_type === 'alert').map((a) => a.alert?.signature_id)).toEqual([1000004]);
    const stats = records.filter((r) => r.event_type === 'stats');
    expect(stats.at(-1)?.wardwatch?.app_layer?.anomalies).toMatchObject({ 'rpc.resync': 2 });
  });
});
