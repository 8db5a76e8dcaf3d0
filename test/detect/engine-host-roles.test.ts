/**
 * Rule 1000007 of the shipped pack: a flow from outside the hospital to a patient monitor, the
 * monitor known from its own CMS8000 traffic (as the client of a CMS8000 flow) or from a
 * monitors list, whichever comes first in the capture.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DetectStats } from '../../src/detect/alert-delivery.js';
import type { Alert } from '../../src/detect/alert.js';
import { MAX_AWAITING, RoleResolver } from '../../src/detect/host-roles.js';
import type { RuleSet } from '../../src/detect/rule-set.js';
import type { Flow } from '../../src/flow/flow.js';
import { DetectHarness, RecordingSink, SHIPPED_RULES_DIR, T0, TO_CLIENT, TO_SERVER, cms8000Detected, loadRuleSetFrom, makeFlow, removeTempDirs } from '../support/detect-harness.js';

afterEach(removeTempDirs);

const MONITOR = '10.20.30.40';
const CENTRAL = '10.20.30.10';
const ATTACKER = '198.51.100.66';
const ATTACK_RULE = 1000007;

const shipped = (monitorFiles?: Record<string, string>): Promise<RuleSet> => loadRuleSetFrom(SHIPPED_RULES_DIR, { monitorFiles });

/** The monitor's stream to its central station: what identifies it. */
function identify(h: DetectHarness, monitor: string, at: number): Flow {
  const stream = makeFlow({ client: monitor, server: CENTRAL, serverPort: 515, startSec: at });
  h.packet(stream, TO_SERVER, at);
  h.event(stream, cms8000Detected(TO_SERVER), at);
  return stream;
}

function inbound(h: DetectHarness, proto: 'tcp' | 'udp', at: number, server = MONITOR, client = ATTACKER, clientPort = 53211): Flow {
  const flow = makeFlow({ client, server, proto, clientPort, serverPort: proto === 'udp' ? 8000 : 23, startSec: at });
  h.packet(flow, TO_SERVER, at);
  return flow;
}

const attackAlerts = (h: DetectHarness): Alert[] => h.alerts.filter((a) => a.rule.id === ATTACK_RULE);

describe('rule 1000007: external hosts reaching a CMS8000 monitor', () => {
  it('a monitor identified by its traffic: a UDP flow from outside alerts at once, severity 1, on its first packet', async () => {
    const h = new DetectHarness(await shipped());
    identify(h, MONITOR, T0);
    const flow = inbound(h, 'udp', T0 + 5);
    const packetNumber = h.context.packetNumber;
    const [alert, ...others] = attackAlerts(h);
    expect(others).toEqual([]);
    expect(alert).toMatchObject({ flow, severity: 1, tsSec: T0 + 5, packetNumber, note: null });
    expect(h.engine.stats.hostsIdentified).toBe(1);
  });

  it('TCP is severity 2', async () => {
    const h = new DetectHarness(await shipped());
    identify(h, MONITOR, T0);
    inbound(h, 'tcp', T0 + 5);
    expect(attackAlerts(h).map((a) => a.severity)).toEqual([2]);
  });

  it('alerts once per flow however many packets, and once for each flow', async () => {
    const h = new DetectHarness(await shipped());
    identify(h, MONITOR, T0);
    const a = inbound(h, 'udp', T0 + 1, MONITOR, ATTACKER, 40001);
    const b = inbound(h, 'udp', T0 + 1, MONITOR, ATTACKER, 40002);
    for (let i = 2; i < 10; i++) {
      h.packet(a, TO_SERVER, T0 + i);
      h.packet(a, TO_CLIENT, T0 + i);
      h.packet(b, TO_SERVER, T0 + i);
    }
    expect(attackAlerts(h).map((x) => x.flow)).toEqual([a, b]);
    h.end(a);
    expect(h.recordOf(a).alerted).toBe(true);
  });

  it('the same alert whether the inbound flow comes before or after the monitor is identified', async () => {
    const after = new DetectHarness(await shipped());
    identify(after, MONITOR, T0);
    const flowAfter = inbound(after, 'udp', T0 + 30);

    const before = new DetectHarness(await shipped());
    const flowBefore = inbound(before, 'udp', T0 + 30);
    const firstPacket = before.context.packetNumber;
    for (let i = 31; i < 40; i++) before.packet(flowBefore, TO_SERVER, i + T0);
    expect(attackAlerts(before)).toEqual([]);
    before.end(flowBefore);
    identify(before, MONITOR, T0 + 60);

    const [late] = attackAlerts(before);
    const [early] = attackAlerts(after);
    expect(attackAlerts(before)).toHaveLength(1);
    // The inbound flow's own first packet and time, not the identification's.
    // A held alert carries its flow as it was when raised, like one raised at once.
    expect(late.flow.id).toBe(flowBefore.id);
    expect(late).toMatchObject({ tsSec: T0 + 30, packetNumber: firstPacket, severity: early.severity, dir: early.dir });
    expect(late.captureFile).toBe(early.captureFile);
    expect(late.flow.addr).toEqual(flowAfter.addr);
    expect(late.note).toMatch(/identified as a Contec CMS8000 patient monitor only after this flow began, by its own traffic at 2025-01-30T10:01:00\.000Z/);
    expect(early.note).toBeNull();
  });

  it('a late identification at a time no date can hold (a crafted 64-bit pcapng timestamp) still raises the alert', async () => {
    const h = new DetectHarness(await shipped());
    const flow = inbound(h, 'udp', T0 + 30);
    h.end(flow);
    // Past what a JavaScript Date can represent (8.64e12 s): the note shows the last four-digit year.
    identify(h, MONITOR, 2 ** 45);
    const [late] = attackAlerts(h);
    expect(late.flow.id).toBe(flow.id);
    expect(late.note).toMatch(/only after this flow began, by its own traffic at 9999-12-31T23:59:59\.000Z/);
  });

  it('a flow still open when the monitor is identified alerts once, not again on its later packets', async () => {
    const h = new DetectHarness(await shipped());
    const flow = inbound(h, 'tcp', T0);
    identify(h, MONITOR, T0 + 1);
    for (let i = 2; i < 6; i++) h.packet(flow, TO_SERVER, T0 + i);
    expect(attackAlerts(h).map((a) => [a.flow.id, a.tsSec])).toEqual([[flow.id, T0]]);
  });

  it('stays quiet for a host never identified, for internal clients, and for a monitor that is the client', async () => {
    const h = new DetectHarness(await shipped());
    identify(h, MONITOR, T0);
    inbound(h, 'udp', T0 + 1, '10.1.5.20'); // an internal server that is no monitor
    inbound(h, 'udp', T0 + 1, MONITOR, '10.1.5.20'); // an internal host reaching the monitor
    const outward = makeFlow({ client: MONITOR, server: ATTACKER, proto: 'udp', serverPort: 8000 });
    h.packet(outward, TO_SERVER, T0 + 2);
    h.packet(outward, TO_CLIENT, T0 + 2);
    expect(attackAlerts(h)).toEqual([]);
  });

  it('the host identified is the client of the CMS8000 flow, not the central station it streams to', async () => {
    const h = new DetectHarness(await shipped());
    identify(h, MONITOR, T0);
    inbound(h, 'udp', T0 + 1, CENTRAL);
    expect(attackAlerts(h)).toEqual([]);
  });

  it('a monitor named in a monitors list alerts from the first flow, saying where it is listed', async () => {
    const h = new DetectHarness(await shipped({ 'ward3.csv': 'indicator,description,source\n10.20.30.44,bed 16,biomed inventory\n' }));
    inbound(h, 'udp', T0, '10.20.30.44');
    const [alert] = attackAlerts(h);
    expect(alert).toMatchObject({ severity: 1, tsSec: T0 });
    expect(alert.note).toMatch(/listed as a Contec CMS8000 patient monitor in .*ward3\.csv:2/);
  });

  it('keeps at most MAX_AWAITING flows waiting, forgets the oldest and counts them', async () => {
    const h = new DetectHarness(await shipped());
    const extra = 3;
    const flows: Flow[] = [];
    for (let i = 0; i < MAX_AWAITING + extra; i++) flows.push(inbound(h, 'udp', T0 + Math.floor(i / 1000), MONITOR, ATTACKER, 1024 + i));
    expect(h.engine.stats.roleWaitsDropped).toBe(extra);
    identify(h, MONITOR, T0 + 100);
    const alerted = attackAlerts(h);
    expect(alerted).toHaveLength(MAX_AWAITING);
    expect(alerted[0].flow.id).toBe(flows[extra].id);
    expect(h.engine.stats.alertsByRule.get(ATTACK_RULE)).toBe(MAX_AWAITING);
  });
});

describe('resolving host roles reported out of time order (the main thread of a sharded replay)', () => {
  async function resolver(): Promise<{ r: RoleResolver; sink: RecordingSink; stats: DetectStats; alertOf(flow: Flow, tsSec: number): Alert; ruleSet: RuleSet }> {
    const ruleSet = await shipped();
    const sink = new RecordingSink();
    const stats = new DetectStats();
    const rule = ruleSet.rules.find((x) => x.id === ATTACK_RULE)!;
    const alertOf = (flow: Flow, tsSec: number): Alert => ({ rule, flow, dir: TO_SERVER, tsSec, tsNsec: 0, matches: 1, severity: 1, event: null, indicator: null, note: null, captureFile: 'a.pcap', packetNumber: 7, interfaceName: null });
    return { r: new RoleResolver(ruleSet, stats, sink, true), sink, stats, alertOf, ruleSet };
  }

  it('an earlier identification reported last still makes the alert one without a late note', async () => {
    const { r, sink, alertOf } = await resolver();
    const flow = makeFlow({ client: ATTACKER, server: MONITOR, proto: 'udp' });
    r.identified('monitor', MONITOR, T0 + 50, 0);
    expect(r.awaiting(alertOf(flow, T0 + 20), 'monitor')).toBe(false);
    expect(sink.alerts).toEqual([]);
    r.identified('monitor', MONITOR, T0 + 10, 0);
    expect(sink.alerts.map((a) => [a.tsSec, a.note])).toEqual([[T0 + 20, null]]);
    r.finish();
    expect(sink.alerts).toHaveLength(1);
  });

  it('holds an alert whose flow began before every identification until the end, then notes the earliest', async () => {
    const { r, sink, stats, alertOf } = await resolver();
    const flow = makeFlow({ client: ATTACKER, server: MONITOR, proto: 'udp' });
    r.identified('monitor', MONITOR, T0 + 90, 0);
    r.awaiting(alertOf(flow, T0 + 20), 'monitor');
    r.identified('monitor', MONITOR, T0 + 60, 0);
    expect(sink.alerts).toEqual([]);
    r.finish();
    expect(sink.alerts).toHaveLength(1);
    expect(sink.alerts[0].note).toMatch(/at 2025-01-30T10:01:00\.000Z/);
    expect(stats.alerts).toBe(1);
    expect(stats.hostsIdentified).toBe(1);
  });

  it('an alert after a known identification goes out at once; one for a host never identified never does', async () => {
    const { r, sink, alertOf } = await resolver();
    r.identified('monitor', MONITOR, T0, 0);
    expect(r.awaiting(alertOf(makeFlow({ client: ATTACKER, server: MONITOR }), T0 + 1), 'monitor')).toBe(true);
    expect(r.awaiting(alertOf(makeFlow({ client: ATTACKER, server: '10.1.5.20' }), T0 + 1), 'monitor')).toBe(false);
    r.finish();
    expect(sink.alerts.map((a) => a.note)).toEqual([null]);
    expect(r.pending).toBe(1);
  });
});
