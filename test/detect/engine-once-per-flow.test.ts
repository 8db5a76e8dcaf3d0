import { afterEach, describe, expect, it } from 'vitest';
import { DetectHarness, T0, TO_CLIENT, TO_SERVER, hl7Message, loadRules, makeFlow, removeTempDirs, type RuleText } from '../support/detect-harness.js';

afterEach(removeTempDirs);

const rules: RuleText[] = [
  { id: 1, match: { server: '$EXTERNAL_NET', server_port: 515, direction: 'to_server' } },
  { id: 2, match: { event: { type: 'hl7.message' } } },
  { id: 3, match: { server_port: 2575 } },
];

describe('once per flow', () => {
  it('a rule matching on 5 packets alerts once, and the flow record carries all 5 matches', async () => {
    const h = new DetectHarness(await loadRules(rules));
    const flow = makeFlow({ client: '10.1.1.5', server: '198.51.100.7', serverPort: 515 });
    for (let i = 0; i < 5; i++) {
      h.packet(flow, TO_SERVER, T0 + i);
      h.packet(flow, TO_CLIENT, T0 + i);
    }
    expect(h.alerts).toHaveLength(1);
    expect(h.alerts[0]).toMatchObject({ matches: 1, tsSec: T0, dir: TO_SERVER, flow });
    h.end(flow);
    const record = h.recordOf(flow);
    expect(record.matchesAtEnd).toEqual(new Map([[1, 5]]));
    expect(record.alerted).toBe(true);
    expect(h.engine.stats.alerts).toBe(1);
    expect(h.engine.stats.alertsByRule.get(1)).toBe(1);
  });

  it('two flows alert twice', async () => {
    const h = new DetectHarness(await loadRules(rules));
    const a = makeFlow({ client: '10.1.1.5', server: '198.51.100.7', serverPort: 515, clientPort: 721 });
    const b = makeFlow({ client: '10.1.1.5', server: '198.51.100.7', serverPort: 515, clientPort: 722 });
    for (let i = 0; i < 3; i++) {
      h.packet(a, TO_SERVER, T0 + i);
      h.packet(b, TO_SERVER, T0 + i);
    }
    expect(h.alerts.map((x) => [x.rule.id, x.flow, x.matches])).toEqual([
      [1, a, 1],
      [1, b, 1],
    ]);
    expect(h.engine.stats.alertsByRule.get(1)).toBe(2);
  });

  it('counts event matches the same way, per rule', async () => {
    const h = new DetectHarness(await loadRules(rules));
    const flow = makeFlow({ client: '10.1.1.5', server: '10.20.0.10', serverPort: 2575 });
    for (let i = 0; i < 3; i++) {
      h.packet(flow, TO_SERVER, T0 + i);
      h.event(flow, hl7Message(TO_SERVER, { controlId: `MSG${i}` }));
      h.event(flow, hl7Message(TO_CLIENT, { messageType: 'ACK', segments: ['MSH', 'MSA'], identitySegments: [] }));
    }
    h.end(flow);
    expect(h.alertIds()).toEqual([3, 2]);
    expect(h.recordOf(flow).matchesAtEnd).toEqual(
      new Map([
        [3, 3],
        [2, 6],
      ]),
    );
  });

  it('a flow no rule matched ends with an empty record, not alerted', async () => {
    const h = new DetectHarness(await loadRules(rules));
    const flow = makeFlow({ client: '10.1.1.5', server: '10.2.2.2', serverPort: 443 });
    h.packet(flow, TO_SERVER);
    h.end(flow, 'end-of-input');
    expect(h.alerts).toEqual([]);
    expect(h.sink.flows).toHaveLength(1);
    expect(h.sink.flows[0]).toMatchObject({ flow, reason: 'end-of-input', alerted: false });
    expect(h.sink.flows[0].matchesAtEnd.size).toBe(0);
  });

  it('forgets a flow when it ends: the same flow object reused starts afresh', async () => {
    const h = new DetectHarness(await loadRules(rules));
    const flow = makeFlow({ client: '10.1.1.5', server: '198.51.100.7', serverPort: 515 });
    h.packet(flow, TO_SERVER, T0);
    h.end(flow);
    expect(flow.detect).toBeNull();
    h.packet(flow, TO_SERVER, T0 + 100);
    expect(h.alerts.map((a) => [a.rule.id, a.tsSec, a.matches])).toEqual([
      [1, T0, 1],
      [1, T0 + 100, 1],
    ]);
  });
});
