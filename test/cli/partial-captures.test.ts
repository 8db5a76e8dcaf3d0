/**
 * What an analyst reads on captures that miss bytes, through the built command: the alert's
 * evidence says what was incomplete, "not LPD" never contradicts an identified protocol, and the
 * stats record counts the further attempts made on flows picked up mid-stream.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SAMPLES_DIR } from '../support/captures.js';
import { ofType, parseEveLines, runCli, type EveRecord } from '../support/cli.js';

async function replay(sample: string): Promise<EveRecord[]> {
  const run = await runCli(['replay', join(SAMPLES_DIR, sample), '--format', 'json']);
  expect(run.code, run.stderr).toBe(0);
  return parseEveLines(run.stdout);
}

const alertOf = (records: EveRecord[], sid: number): Record<string, unknown> | undefined =>
  ofType(records, 'alert').find((r) => (r as unknown as { alert: { signature_id: number } }).alert.signature_id === sid) as Record<string, unknown> | undefined;

const appLayerStats = (records: EveRecord[]): Record<string, unknown> =>
  (ofType(records, 'stats').at(-1) as unknown as { wardwatch: { app_layer: Record<string, unknown> } }).wardwatch.app_layer;

describe('alerts on captures that miss bytes', () => {
  it('a CMS8000 stream picked up inside a patient block: 1000002 says midstream, and the retry is counted', async () => {
    const records = await replay('cms8000-midstream-indicator.pcap');
    expect(alertOf(records, 1000002)).toMatchObject({ app_proto: 'cms8000', cms8000: { event: 'detected', incomplete: ['midstream'] } });
    expect(appLayerStats(records)).toMatchObject({ retries: 1, retries_exhausted: 0 });
  });

  it('HL7 with a lost segment: 1000002 shows the message as truncated by a gap, and no "not LPD"', async () => {
    const records = await replay('hl7-lost-segment-515.pcap');
    expect(alertOf(records, 1000002)).toMatchObject({ app_proto: 'hl7', hl7: { message_type: 'ORU^R01', truncated: true, incomplete: ['truncated', 'gap'] } });
    expect(alertOf(records, 1000006)).toBeUndefined();
  });

  it('HL7 cut by a 96-byte snap length: the MSH with its encoding characters is enough', async () => {
    const records = await replay('hl7-snaplen-96.pcap');
    expect(alertOf(records, 1000002)).toMatchObject({ app_proto: 'hl7', hl7: { framing: 'mllp', segments: ['MSH'], incomplete: ['truncated', 'gap'] } });
  });

  it('a whole HL7 message after a server banner carries no incomplete mark', async () => {
    const records = await replay('hl7-server-banner-515.pcap');
    const hl7 = (alertOf(records, 1000002) as { hl7: Record<string, unknown> }).hl7;
    expect(hl7).toMatchObject({ message_type: 'ORU^R01', truncated: false });
    expect(hl7.incomplete).toBeUndefined();
  });
});
