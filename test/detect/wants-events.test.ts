import { describe, expect, it } from 'vitest';
import { DetectHarness, TO_SERVER, hl7Message, loadRules, makeFlow, type RuleText } from '../support/detect-harness.js';

const hl7Out: RuleText = { id: 1, match: { client: '$HOME_NET', server: '$EXTERNAL_NET', event: { type: 'hl7.message' } } };
const portmapWithoutMount: RuleText = {
  id: 2,
  match: { client: '$HOME_NET', server: '$EXTERNAL_NET', app_proto: ['portmap'], unless_seen_between_hosts: { type: 'mount.call' }, at: 'flow_end' },
};
const RPC_EVENTS = ['rpc.call', 'mount.call'] as const;

describe("the rule engine's interest in a flow's events", () => {
  it('holds for a flow some rule may apply to', async () => {
    const h = new DetectHarness(await loadRules([hl7Out]));
    const leaving = makeFlow({ client: '10.1.6.10', server: '198.51.100.7', serverPort: 2575 });
    h.packet(leaving, TO_SERVER);
    expect(h.engine.wantsEvents(leaving, ['hl7.message'])).toBe(true);
  });

  it('ends for a flow no rule applies to', async () => {
    const h = new DetectHarness(await loadRules([hl7Out]));
    const internal = makeFlow({ client: '10.1.6.10', server: '10.1.5.20', serverPort: 2575 });
    h.packet(internal, TO_SERVER);
    expect(h.engine.wantsEvents(internal, ['hl7.message'])).toBe(false);
  });

  it('holds, on any flow, for the event types an unless_seen_between_hosts test waits for', async () => {
    const h = new DetectHarness(await loadRules([hl7Out, portmapWithoutMount]));
    const internal = makeFlow({ client: '10.20.30.80', server: '10.1.0.60', serverPort: 635 });
    h.packet(internal, TO_SERVER);
    expect(h.engine.wantsEvents(internal, RPC_EVENTS)).toBe(true);
    expect(h.engine.wantsEvents(internal, ['hl7.message'])).toBe(false);
  });

  it('holds for every flow when the rules may be reloaded during the run (live capture)', async () => {
    const h = new DetectHarness(await loadRules([hl7Out]), { rulesMayChange: true });
    const internal = makeFlow({ client: '10.1.6.10', server: '10.1.5.20', serverPort: 2575 });
    h.packet(internal, TO_SERVER);
    expect(h.engine.wantsEvents(internal, ['hl7.message'])).toBe(true);
    // A rule reloaded later does see the flow's next message.
    h.engine.reload(await loadRules([hl7Out, { id: 3, match: { server: '10.1.5.20', event: { type: 'hl7.message' } } }]));
    h.packet(internal, TO_SERVER);
    h.event(internal, hl7Message(TO_SERVER));
    expect(h.alertIds()).toEqual([3]);
  });

  it('holds for a flow not yet matched against the rules, and again after a reload', async () => {
    const h = new DetectHarness(await loadRules([hl7Out]));
    const internal = makeFlow({ client: '10.1.6.10', server: '10.1.5.20', serverPort: 2575 });
    expect(h.engine.wantsEvents(internal, ['hl7.message'])).toBe(true);
    h.packet(internal, TO_SERVER);
    h.engine.reload(await loadRules([hl7Out, { id: 3, match: { server: '10.1.5.20', event: { type: 'hl7.message' } } }]));
    expect(h.engine.wantsEvents(internal, ['hl7.message'])).toBe(true);
  });
});
