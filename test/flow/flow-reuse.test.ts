import { describe, expect, it } from 'vitest';
import { TO_CLIENT, TO_SERVER } from '../../src/flow/direction.js';
import { Flow, TCP_STATE_NAMES } from '../../src/flow/flow.js';
import { FlowTable } from '../../src/flow/flow-table.js';
import { DetectHarness, SHIPPED_RULES_DIR, T0, loadRuleSetFrom, makeFlow, mountCall } from '../support/detect-harness.js';
import { RecordingConsumer, feed, flowEndpoints, tcpView } from '../support/flow-harness.js';

/** Sets every own field of a flow to a value a new flow never has. */
function scribble(flow: Flow): void {
  const record = flow as unknown as Record<string, unknown>;
  for (const key of Object.keys(flow)) {
    const value = record[key];
    if (Array.isArray(value)) value.fill(7);
    else if (typeof value === 'number') record[key] = 12345;
    else if (typeof value === 'boolean') record[key] = !value;
    else if (typeof value === 'string') record[key] = 'scribbled';
    else record[key] = { scribbled: true };
  }
}

describe('flow objects reused after their flow ends', () => {
  it('a reset flow equals a new one, field for field', () => {
    const flow = new Flow();
    const arrays = [flow.addr, flow.vlanIds];
    scribble(flow);
    flow.reset();
    expect(flow).toEqual(new Flow());
    // The arrays are kept, not made again.
    expect([flow.addr, flow.vlanIds]).toEqual(arrays);
    expect(flow.addr).toBe(arrays[0]);
  });

  it('a copy keeps an ended flow as it was, apart from its streams and list links', () => {
    const flow = new Flow();
    scribble(flow);
    flow.speakers = [{ side: 0, label: 'HL7', name: 'MONITOR|WARD3' }];
    const copy = flow.copy();
    expect(copy.addr).not.toBe(flow.addr);
    expect(copy.addr).toEqual(flow.addr);
    expect(copy.id).toBe(12345);
    expect([copy.streamToServer, copy.streamToClient, copy.prev, copy.next, copy.bucketNext, copy.app, copy.detect]).toEqual([null, null, null, null, null, null, null]);
    flow.reset();
    expect(copy.clientPort).toBe(12345);
    expect(copy.speakers).toEqual([{ side: 0, label: 'HL7', name: 'MONITOR|WARD3' }]);
  });

  it('a flow made from an evicted one starts clean: its own addresses, state and inspection', () => {
    const consumer = new RecordingConsumer();
    const table = new FlowTable(consumer, { maxFlows: 1 });
    feed(
      table,
      tcpView({ src: '10.0.0.1', dst: '202.114.4.119', sport: 40000, dport: 515, flags: 'S', ts: T0 }),
      tcpView({ src: '202.114.4.119', dst: '10.0.0.1', sport: 515, dport: 40000, flags: 'SA', ts: T0 }),
    );
    const first = consumer.only();
    first.appProto = 'hl7';
    first.stopInspection();
    const firstId = first.id;
    // The table is full: the next SYN evicts the first flow and reuses its object.
    feed(table, tcpView({ src: '10.0.0.2', dst: '10.0.0.9', sport: 41000, dport: 2575, flags: 'S', ts: T0 + 1 }), tcpView({ src: '10.0.0.2', dst: '10.0.0.9', sport: 41000, dport: 2575, flags: 'PA', seq: 1, payload: 'MSH', ts: T0 + 1 }));
    expect(consumer.endReasons.get(firstId)).toBe('evicted');
    const second = [...consumer.flows.values()][1];
    expect(second.id).not.toBe(firstId);
    expect(flowEndpoints(second)).toEqual({ client: '10.0.0.2:41000', server: '10.0.0.9:2575' });
    expect([second.appProto, second.packetsToClient, TCP_STATE_NAMES[second.tcpState], second.inspecting(TO_SERVER), second.inspecting(TO_CLIENT)]).toEqual(['', 0, 'established', true, true]);
    expect(consumer.stream(second, TO_SERVER)).toBe('MSH');
    // The ended flow's record is kept as it ended.
    expect(flowEndpoints(consumer.flows.get(firstId)!)).toEqual({ client: '10.0.0.1:40000', server: '202.114.4.119:515' });
  });

  it('the rule state an ended flow leaves behind carries nothing into the next flow', async () => {
    const h = new DetectHarness(await loadRuleSetFrom(SHIPPED_RULES_DIR));
    const mount = (clientPort: number, at: number) => {
      const flow = makeFlow({ client: '10.1.5.20', server: '203.0.113.7', proto: 'udp', clientPort, serverPort: 635, startSec: at });
      h.packet(flow, TO_SERVER, at);
      h.event(flow, mountCall(TO_SERVER), at);
      h.end(flow);
      return flow;
    };
    const a = mount(700, T0);
    const b = mount(701, T0 + 10);
    // Each flow raises the once-per-flow NFS mount alert itself: the second did not inherit the first's.
    expect(h.alerts.filter((x) => x.rule.id === 1000004).map((x) => x.flow.id)).toEqual([a.id, b.id]);
    expect(h.recordOf(b).matchesAtEnd.get(1000004)).toBe(1);
  });

  it('a flow that meets fewer rules than the ended one still raises its own indicator alert', async () => {
    const h = new DetectHarness(await loadRuleSetFrom(SHIPPED_RULES_DIR));
    // TCP 515 to the indicator meets more rules than TCP 511 to it: the state's lists are rebuilt.
    const lpd = makeFlow({ client: '10.20.30.40', server: '202.114.4.119', clientPort: 40312, serverPort: 515 });
    h.packet(lpd, TO_SERVER, T0);
    h.end(lpd);
    const hl7 = makeFlow({ client: '10.20.30.40', server: '202.114.4.120', clientPort: 40501, serverPort: 511, startSec: T0 + 5 });
    h.packet(hl7, TO_SERVER, T0 + 5);
    h.end(hl7);
    expect(h.alerts.filter((x) => x.rule.id === 1000001).map((x) => x.flow.id)).toEqual([lpd.id, hl7.id]);
    expect(h.recordOf(hl7).matchesAtEnd.get(1000001)).toBe(1);
  });
});
