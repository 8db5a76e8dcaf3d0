/**
 * The HL7 analyzer against tshark's HL7 dissector on the samples of what a sensor sees when it
 * does not see everything (tools/scenarios/resync.ts), direction by direction. Where tshark sees
 * every message, both report the same ones. Where it sees less (TSHARK_SEES_LESS: lost or cut
 * bytes, a banner glued to the server's first message), every message it reports is ours too, and
 * each message only we report says what the capture did not show of it, or sits behind the banner.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Hl7MessageEvent } from '../../src/analyzers/events.js';
import { resyncScenarios, TSHARK_SEES_LESS } from '../../tools/scenarios/index.js';
import { appEventsOf } from '../support/app-events.js';
import { SAMPLES_DIR, tsharkFields } from '../support/captures.js';

interface Message {
  /** 'to_server' or 'to_client'. */
  dir: string;
  /** 'ORU^R01'. */
  type: string;
  /** Ours only: bytes of it were not seen (truncated, or lost to a gap). */
  incomplete?: boolean;
}

const key = (m: Message): string => `${m.dir} ${m.type}`;

async function ourMessages(path: string): Promise<Message[]> {
  const found: Message[] = [];
  for (const { event } of await appEventsOf(path)) {
    if (event.type !== 'hl7.message') continue;
    const e = event as Hl7MessageEvent;
    found.push({ dir: e.dir === 0 ? 'to_server' : 'to_client', type: `${e.messageType}^${e.triggerEvent}`, incomplete: e.truncated === true || e.incomplete?.includes('gap') === true });
  }
  return found;
}

/** Every sample's server listens on 515: a message from port 515 goes to the client. */
async function tsharkMessages(path: string): Promise<Message[]> {
  const rows = await tsharkFields(path, ['tcp.srcport', 'hl7.message.type', 'hl7.event.type'], [
    '-o', 'tcp.reassemble_out_of_order:TRUE',
    '-d', 'tcp.port==515,hl7',
    '-Y', 'hl7',
    '-E', 'occurrence=a',
    '-E', 'aggregator=,',
  ]);
  const found: Message[] = [];
  for (const [srcPort, types, events] of rows) {
    const eventTypes = (events ?? '').split(',');
    (types ?? '').split(',').filter((t) => t !== '').forEach((type, i) => found.push({ dir: srcPort === '515' ? 'to_client' : 'to_server', type: `${type}^${eventTypes[i] ?? ''}` }));
  }
  return found;
}

const results = new Map<string, { ours: Message[]; theirs: Message[] }>();

describe('HL7 messages found on partial captures agree with tshark', () => {
  beforeAll(async () => {
    for (const s of resyncScenarios) {
      const path = join(SAMPLES_DIR, s.file);
      const [ours, theirs] = await Promise.all([ourMessages(path), tsharkMessages(path)]);
      results.set(s.file, { ours, theirs });
    }
  });

  for (const s of resyncScenarios) {
    const reason = TSHARK_SEES_LESS[s.file];
    if (reason === undefined) {
      it(`${s.file}: the same messages, direction by direction`, () => {
        const { ours, theirs } = results.get(s.file)!;
        expect(ours.map(key).sort()).toEqual(theirs.map(key).sort());
        expect(ours.filter((m) => m.incomplete)).toEqual([]);
      });
      continue;
    }
    it(`${s.file}: every message tshark reports is ours too; ours beyond them are marked incomplete or sit behind the server's first bytes (tshark: ${reason})`, () => {
      const { ours, theirs } = results.get(s.file)!;
      const left = ours.map(key);
      for (const m of theirs) {
        const at = left.indexOf(key(m));
        expect(at, `tshark's ${key(m)}`).toBeGreaterThanOrEqual(0);
        left.splice(at, 1);
      }
      const serverSpokeFirst = s.file.startsWith('hl7-server-');
      const extra = ours.filter((m) => {
        const at = left.indexOf(key(m));
        if (at < 0) return false;
        left.splice(at, 1);
        return true;
      });
      for (const m of extra) expect(m.incomplete || (serverSpokeFirst && m.dir === 'to_client'), `our ${key(m)}`).toBe(true);
      expect(ours.length).toBeGreaterThan(0);
    });
  }

  it('tshark reads HL7 on some of them and none on others (the comparison is not vacuous)', () => {
    const all = [...results.values()];
    expect(all.some((r) => r.theirs.length > 0)).toBe(true);
    expect(all.some((r) => r.theirs.length === 0 && r.ours.length === 0)).toBe(true);
  });
});
