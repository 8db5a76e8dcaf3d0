import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Flow } from '../../src/flow/flow.js';
import { RuleLoadError } from '../../src/detect/rule-loader.js';
import { RuleSet } from '../../src/detect/rule-set.js';
import {
  DetectHarness,
  T0,
  TO_CLIENT,
  TO_SERVER,
  hl7Message,
  loadRules,
  makeFlow,
  positionOf,
  removeTempDirs,
  rulesYaml,
  tempDir,
  type RuleText,
} from '../support/detect-harness.js';

afterEach(removeTempDirs);

/** Alerts on each packet: what thresholds see is every match. */
const everyPacket: RuleText = { id: 1, per_flow: 'every', match: {} };
/** Alerts once per flow. */
const oncePerFlow: RuleText = { id: 2, match: {} };
const other: RuleText = { id: 3, per_flow: 'every', match: {} };

const flowOf = (client: string, server: string) => makeFlow({ client, server, serverPort: 2575 });

async function harness(rules: RuleText[], extra: { thresholds?: unknown[]; suppressions?: unknown[] }): Promise<DetectHarness> {
  return new DetectHarness(await loadRules(rules, extra));
}

/** One to_server packet on a new flow per client, at the given times. */
function newFlows(h: DetectHarness, client: string, times: number[], server = '198.51.100.7'): Flow[] {
  return times.map((t) => {
    const flow = flowOf(client, server);
    h.packet(flow, TO_SERVER, t);
    return flow;
  });
}

const alertedAt = (h: DetectHarness, id: number) => h.alerts.filter((a) => a.rule.id === id).map((a) => a.tsSec - T0);

describe('suppressions', () => {
  it('a suppression without addresses silences the rule entirely, and only that rule', async () => {
    const h = await harness([everyPacket, other], { suppressions: [{ id: 1 }] });
    const flow = flowOf('10.1.1.5', '198.51.100.7');
    for (let i = 0; i < 3; i++) h.packet(flow, TO_SERVER, T0 + i);
    expect(h.alertIds()).toEqual([3, 3, 3]);
    expect(h.engine.stats.suppressed).toBe(3);
    h.end(flow);
    // The flow log still tells how often the suppressed rule matched.
    expect(h.recordOf(flow).matchesAtEnd.get(1)).toBe(3);
  });

  it('by_src silences alerts whose sender is listed', async () => {
    const h = await harness([everyPacket], { suppressions: [{ id: 1, track: 'by_src', ip: ['10.1.1.5', '10.2.0.0/16'] }] });
    const listedHost = flowOf('10.1.1.5', '198.51.100.7');
    const listedBlock = flowOf('10.2.3.4', '198.51.100.7');
    const unlisted = flowOf('10.1.1.6', '198.51.100.7');
    for (const flow of [listedHost, listedBlock, unlisted]) h.packet(flow, TO_SERVER, T0);
    expect(h.alerts.map((a) => a.flow)).toEqual([unlisted]);
  });

  it('by_src looks at the sender of the triggering packet, which may be the server', async () => {
    const h = await harness([everyPacket], { suppressions: [{ id: 1, track: 'by_src', ip: '10.2.0.0/16' }] });
    const flow = flowOf('10.3.3.3', '10.2.0.9');
    h.packet(flow, TO_CLIENT, T0);
    h.packet(flow, TO_SERVER, T0 + 1);
    expect(h.alerts.map((a) => [a.dir, a.tsSec - T0])).toEqual([[TO_SERVER, 1]]);
  });

  it('by_dst silences alerts whose receiver is listed', async () => {
    const h = await harness([everyPacket], { suppressions: [{ id: 1, track: 'by_dst', ip: ['10.20.0.10'] }] });
    const toEngine = flowOf('10.1.1.5', '10.20.0.10');
    h.packet(toEngine, TO_SERVER, T0);
    h.packet(toEngine, TO_CLIENT, T0 + 1);
    const elsewhere = flowOf('10.1.1.5', '10.20.0.11');
    h.packet(elsewhere, TO_SERVER, T0 + 2);
    expect(h.alerts.map((a) => [a.flow, a.dir])).toEqual([
      [toEngine, TO_CLIENT],
      [elsewhere, TO_SERVER],
    ]);
  });

  it('by_either, and addresses without a track, silence alerts touching a listed address', async () => {
    for (const suppression of [{ id: 1, track: 'by_either', ip: '$HOME_NET' }, { id: 1, ip: '$HOME_NET' }]) {
      const h = await harness([everyPacket], { suppressions: [suppression] });
      h.packet(flowOf('10.1.1.5', '198.51.100.7'), TO_SERVER, T0);
      h.packet(flowOf('198.51.100.7', '10.1.1.5'), TO_SERVER, T0);
      h.packet(flowOf('203.0.113.1', '198.51.100.7'), TO_SERVER, T0);
      expect(h.alerts.map((a) => a.flow.addr[0] >>> 24)).toEqual([203]);
    }
  });

  it('a bad suppression address is reported where it stands and rejects the set', async () => {
    const text = rulesYaml([everyPacket], { suppressions: [{ id: 1, track: 'by_src', ip: '10.0.0.0/40' }] });
    const dir = tempDir({ 'site.yaml': text });
    const err = await RuleSet.load({ rulesDir: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuleLoadError);
    const at = positionOf(text, '10.0.0.0/40');
    expect((err as RuleLoadError).problems).toEqual([`${join(dir, 'site.yaml')}:${at.line}:${at.column}: invalid address or CIDR '10.0.0.0/40'`]);
  });
});

describe('thresholds', () => {
  it('limit: at most count alerts per window, per source', async () => {
    const h = await harness([oncePerFlow], { thresholds: [{ id: 2, type: 'limit', track: 'by_src', count: 2, seconds: 60 }] });
    newFlows(h, '10.1.1.5', [T0, T0 + 1, T0 + 2, T0 + 3]);
    newFlows(h, '10.1.1.6', [T0 + 4, T0 + 5, T0 + 6]);
    newFlows(h, '10.1.1.5', [T0 + 59, T0 + 60, T0 + 61, T0 + 62]);
    expect(h.alerts.map((a) => [a.flow.addr[0] & 0xff, a.tsSec - T0])).toEqual([
      [5, 0],
      [5, 1],
      [6, 4],
      [6, 5],
      // A new window opens 60 s after the first one started.
      [5, 60],
      [5, 61],
    ]);
    expect(h.engine.stats.suppressed).toBe(5);
  });

  it('limit by_dst counts per receiver', async () => {
    const h = await harness([oncePerFlow], { thresholds: [{ id: 2, type: 'limit', track: 'by_dst', count: 1, seconds: 60 }] });
    newFlows(h, '10.1.1.5', [T0], '198.51.100.7');
    newFlows(h, '10.1.1.6', [T0 + 1], '198.51.100.7');
    newFlows(h, '10.1.1.6', [T0 + 2], '198.51.100.8');
    expect(alertedAt(h, 2)).toEqual([0, 2]);
  });

  it('limit by_rule counts every alert of the rule together; by_both counts each pair', async () => {
    const byRule = await harness([oncePerFlow], { thresholds: [{ id: 2, type: 'limit', track: 'by_rule', count: 2, seconds: 60 }] });
    newFlows(byRule, '10.1.1.5', [T0], '198.51.100.7');
    newFlows(byRule, '10.1.1.6', [T0 + 1], '198.51.100.8');
    newFlows(byRule, '10.1.1.7', [T0 + 2], '198.51.100.9');
    expect(alertedAt(byRule, 2)).toEqual([0, 1]);

    const byBoth = await harness([oncePerFlow], { thresholds: [{ id: 2, type: 'limit', track: 'by_both', count: 1, seconds: 60 }] });
    newFlows(byBoth, '10.1.1.5', [T0], '198.51.100.7');
    newFlows(byBoth, '10.1.1.5', [T0 + 1], '198.51.100.7');
    newFlows(byBoth, '10.1.1.5', [T0 + 2], '198.51.100.8');
    newFlows(byBoth, '10.1.1.6', [T0 + 3], '198.51.100.7');
    expect(alertedAt(byBoth, 2)).toEqual([0, 2, 3]);
  });

  it('limit tells IPv6 sources apart', async () => {
    const h = await harness([oncePerFlow], { thresholds: [{ id: 2, type: 'limit', track: 'by_src', count: 1, seconds: 60 }] });
    newFlows(h, 'fd00::5', [T0, T0 + 1], '2001:db8::7');
    newFlows(h, 'fd00::6', [T0 + 2], '2001:db8::7');
    newFlows(h, 'fd00:0:0:1::5', [T0 + 3], '2001:db8::7');
    expect(alertedAt(h, 2)).toEqual([0, 2, 3]);
  });

  it('threshold: one alert every count-th match', async () => {
    const h = await harness([everyPacket], { thresholds: [{ id: 1, type: 'threshold', track: 'by_src', count: 3, seconds: 60 }] });
    const flow = flowOf('10.1.1.5', '198.51.100.7');
    for (let i = 0; i < 7; i++) h.packet(flow, TO_SERVER, T0 + i);
    expect(h.alerts.map((a) => [a.tsSec - T0, a.matches])).toEqual([
      [2, 3],
      [5, 6],
    ]);
  });

  it('threshold: a once-per-flow rule held back by the threshold may still fire on a later match of the flow', async () => {
    const h = await harness([oncePerFlow], { thresholds: [{ id: 2, type: 'threshold', track: 'by_src', count: 3, seconds: 60 }] });
    const flow = flowOf('10.1.1.5', '198.51.100.7');
    for (let i = 0; i < 5; i++) h.packet(flow, TO_SERVER, T0 + i);
    expect(h.alerts.map((a) => [a.tsSec - T0, a.matches])).toEqual([[2, 3]]);
  });

  it('threshold: the count restarts when the window runs out', async () => {
    const h = await harness([everyPacket], { thresholds: [{ id: 1, type: 'threshold', track: 'by_src', count: 3, seconds: 60 }] });
    const flow = flowOf('10.1.1.5', '198.51.100.7');
    for (const t of [0, 10, 60, 61, 62]) h.packet(flow, TO_SERVER, T0 + t);
    expect(alertedAt(h, 1)).toEqual([62]);
  });

  it('threshold: different sources are counted separately', async () => {
    const h = await harness([everyPacket], { thresholds: [{ id: 1, type: 'threshold', track: 'by_src', count: 2, seconds: 60 }] });
    const a = flowOf('10.1.1.5', '198.51.100.7');
    const b = flowOf('10.1.1.6', '198.51.100.7');
    h.packet(a, TO_SERVER, T0);
    h.packet(b, TO_SERVER, T0 + 1);
    h.packet(b, TO_SERVER, T0 + 2);
    h.packet(a, TO_SERVER, T0 + 3);
    expect(h.alerts.map((x) => [x.flow, x.tsSec - T0])).toEqual([
      [b, 2],
      [a, 3],
    ]);
  });

  it('both: one alert per window once count matches were seen', async () => {
    const h = await harness([everyPacket], { thresholds: [{ id: 1, type: 'both', track: 'by_src', count: 3, seconds: 60 }] });
    const flow = flowOf('10.1.1.5', '198.51.100.7');
    for (const t of [0, 1, 2, 3, 30, 59, 60, 61, 62, 63]) h.packet(flow, TO_SERVER, T0 + t);
    expect(alertedAt(h, 1)).toEqual([2, 62]);
  });

  it('both: matches of another source do not add up', async () => {
    const h = await harness([everyPacket], { thresholds: [{ id: 1, type: 'both', track: 'by_src', count: 2, seconds: 60 }] });
    const a = flowOf('10.1.1.5', '198.51.100.7');
    const b = flowOf('10.1.1.6', '198.51.100.7');
    h.packet(a, TO_SERVER, T0);
    h.packet(b, TO_SERVER, T0 + 1);
    expect(h.alerts).toEqual([]);
    h.packet(b, TO_SERVER, T0 + 2);
    expect(h.alerts.map((x) => x.flow)).toEqual([b]);
  });

  it('an event alert is timed by its flow, so windows follow capture time', async () => {
    const hl7: RuleText = { id: 4, match: { event: { type: 'hl7.message' } } };
    const h = await harness([hl7], { thresholds: [{ id: 4, type: 'limit', track: 'by_src', count: 1, seconds: 300 }] });
    for (const t of [0, 100, 299, 300, 301]) h.event(flowOf('10.1.1.5', '198.51.100.7'), hl7Message(TO_SERVER), T0 + t);
    expect(alertedAt(h, 4)).toEqual([0, 300]);
  });

  it('leaves rules without a threshold alone', async () => {
    const h = await harness([everyPacket, other], { thresholds: [{ id: 1, type: 'limit', track: 'by_src', count: 1, seconds: 60 }] });
    const flow = flowOf('10.1.1.5', '198.51.100.7');
    for (let i = 0; i < 3; i++) h.packet(flow, TO_SERVER, T0 + i);
    expect(h.alertIds()).toEqual([1, 3, 3, 3]);
  });

  it('suppressions win over thresholds', async () => {
    const h = await harness([everyPacket], {
      suppressions: [{ id: 1, track: 'by_src', ip: '10.1.1.5' }],
      thresholds: [{ id: 1, type: 'limit', track: 'by_rule', count: 1, seconds: 60 }],
    });
    h.packet(flowOf('10.1.1.5', '198.51.100.7'), TO_SERVER, T0);
    h.packet(flowOf('10.1.1.6', '198.51.100.7'), TO_SERVER, T0 + 1);
    // The suppressed alert did not use up the limit.
    expect(h.alerts.map((a) => a.flow.addr[0] & 0xff)).toEqual([6]);
  });
});
