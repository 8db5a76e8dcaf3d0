import { afterEach, describe, expect, it } from 'vitest';
import type { AppEvent } from '../../src/analyzers/events.js';
import type { RuleSet } from '../../src/detect/rule-set.js';
import {
  DetectHarness,
  T0,
  TO_CLIENT,
  TO_SERVER,
  cms8000Detected,
  cms8000Summary,
  hl7Message,
  loadRules,
  lpdCommand,
  makeFlow,
  mountCall,
  nfsCall,
  notLpd,
  portmapCall,
  removeTempDirs,
  type FlowSpec,
  type RuleText,
} from '../support/detect-harness.js';

afterEach(removeTempDirs);

const sorted = (ids: number[]) => [...ids].sort((a, b) => a - b);

/** Ids of the rules that alert on one packet of a new flow. */
function onPacket(ruleSet: RuleSet, spec: FlowSpec, dir = TO_SERVER): number[] {
  const h = new DetectHarness(ruleSet);
  h.packet(makeFlow(spec), dir);
  return sorted(h.alertIds());
}

/** Ids of the rules that alert on one event of a new flow. */
function onEvent(ruleSet: RuleSet, event: AppEvent, spec: FlowSpec = { client: '10.1.1.5', server: '198.51.100.7' }): number[] {
  const h = new DetectHarness(ruleSet);
  h.event(makeFlow(spec), event);
  return sorted(h.alertIds());
}

describe('addresses', () => {
  const rules: RuleText[] = [
    { id: 1, match: { client: '10.1.0.0/16' } },
    { id: 2, match: { server: ['192.168.5.0/24', '172.16.9.9', '2001:db8:bad::/48'] } },
    { id: 3, match: { server: '$EXTERNAL_NET' } },
    { id: 4, match: { server: '$HOME_NET' } },
    { id: 5, match: { server: '!10.0.0.5' } },
    { id: 6, match: { server: ['$HOME_NET', '!10.9.0.0/16'] } },
    { id: 7, match: { client: 'any', server: 'any' } },
    { id: 8, match: { server: '!$EXTERNAL_NET' } },
  ];

  it.each([
    ['outbound to a public address', '10.1.2.3', '8.8.8.8', [1, 3, 5, 7]],
    ['internal, to the negated host', '10.2.0.1', '10.0.0.5', [4, 6, 7, 8]],
    ['internal, into the negated block', '10.1.0.1', '10.9.1.1', [1, 4, 5, 7, 8]],
    ['into a listed /24', '10.2.0.1', '192.168.5.77', [2, 4, 5, 6, 7, 8]],
    ['to a listed host', '10.2.0.1', '172.16.9.9', [2, 4, 5, 6, 7, 8]],
    ['to the host next to a listed one', '10.2.0.1', '172.16.9.10', [4, 5, 6, 7, 8]],
    ['link-local is home by default', '10.2.0.1', '169.254.1.1', [4, 5, 6, 7, 8]],
    ['inbound from a public address', '203.0.113.5', '10.0.0.5', [4, 6, 7, 8]],
    ['mDNS multicast', '10.2.0.1', '224.0.0.251', [5, 7, 8]],
    ['SSDP multicast', '10.2.0.1', '239.255.255.250', [5, 7, 8]],
    ['limited broadcast', '10.2.0.1', '255.255.255.255', [5, 7, 8]],
    ['loopback', '10.2.0.1', '127.0.0.1', [5, 7, 8]],
    ['unspecified', '10.2.0.1', '0.0.0.0', [5, 7, 8]],
    ['IPv6 into a listed /48', 'fd00::5', '2001:db8:bad::1', [2, 3, 5, 7]],
    ['IPv6 to a public address', 'fd00::5', '2001:db8::1', [3, 5, 7]],
    ['IPv6 unique local', 'fd00::5', 'fd00::9', [4, 5, 6, 7, 8]],
    ['IPv6 link-local', 'fd00::5', 'fe80::1', [4, 5, 6, 7, 8]],
    ['IPv6 multicast', 'fd00::5', 'ff02::1', [5, 7, 8]],
    ['IPv6 loopback', 'fd00::5', '::1', [5, 7, 8]],
    ['IPv6 unspecified', 'fd00::5', '::', [5, 7, 8]],
  ])('%s: %s -> %s', async (_name, client, server, expected) => {
    const ruleSet = await loadRules(rules);
    expect(onPacket(ruleSet, { client, server })).toEqual(expected);
  });

  it('takes HOME_NET from the options', async () => {
    const ruleSet = await loadRules(
      [
        { id: 1, match: { client: '$HOME_NET' } },
        { id: 2, match: { server: '$EXTERNAL_NET' } },
      ],
      { homeNet: ['10.20.0.0/16', '2001:db8:1::/48'] },
    );
    expect(onPacket(ruleSet, { client: '10.20.3.4', server: '10.1.1.1' })).toEqual([1, 2]);
    expect(onPacket(ruleSet, { client: '10.1.1.1', server: '10.20.3.4' })).toEqual([]);
    expect(onPacket(ruleSet, { client: '2001:db8:1::5', server: '2001:db8:2::5' })).toEqual([1, 2]);
  });
});

describe('ports', () => {
  const rules: RuleText[] = [
    { id: 11, match: { server_port: 515 } },
    { id: 12, match: { server_port: '515-520' } },
    { id: 13, match: { server_port: '!515' } },
    { id: 14, match: { server_port: [80, 443, '8000-8080'] } },
    // RFC 1179: LPD clients send from ports 721-731.
    { id: 15, match: { client_port: '721-731' } },
    { id: 16, match: { server_port: ['515-520', '!517'] } },
    { id: 17, match: { client_port: '!1024-65535' } },
  ];

  it.each([
    [40000, 515, [11, 12, 16]],
    [721, 515, [11, 12, 15, 16, 17]],
    [731, 515, [11, 12, 15, 16, 17]],
    [732, 515, [11, 12, 16, 17]],
    [40000, 517, [12, 13]],
    [40000, 520, [12, 13, 16]],
    [40000, 521, [13]],
    [40000, 514, [13]],
    [40000, 443, [13, 14]],
    [40000, 8080, [13, 14]],
    [40000, 8081, [13]],
    [1023, 80, [13, 14, 17]],
  ])('client port %i, server port %i', async (clientPort, serverPort, expected) => {
    const ruleSet = await loadRules(rules);
    expect(onPacket(ruleSet, { client: '10.1.1.5', server: '10.2.2.2', clientPort, serverPort })).toEqual(expected);
  });

  it('tests the flow ports, whichever way the packet travels', async () => {
    const ruleSet = await loadRules([{ id: 11, match: { server_port: 515, client_port: '721-731' } }]);
    expect(onPacket(ruleSet, { client: '10.1.1.5', server: '10.2.2.2', clientPort: 721, serverPort: 515 }, TO_CLIENT)).toEqual([11]);
  });
});

describe('protocols', () => {
  const rules: RuleText[] = [
    { id: 21, match: { proto: 'tcp' } },
    { id: 22, match: { proto: 'udp' } },
    { id: 23, match: { proto: 'icmp' } },
    { id: 24, match: { proto: 'any' } },
    { id: 25, match: { proto: 'ip' } },
    { id: 26, match: {} },
  ];

  it.each([
    ['tcp', '10.1.1.5', '198.51.100.7', [21, 24, 25, 26]],
    ['udp', '10.1.1.5', '198.51.100.7', [22, 24, 25, 26]],
    ['icmp', '10.1.1.5', '198.51.100.7', [23, 24, 25, 26]],
    ['icmp6', 'fd00::5', '2001:db8::7', [23, 24, 25, 26]],
    ['tcp', 'fd00::5', '2001:db8::7', [21, 24, 25, 26]],
  ] as const)('%s %s -> %s', async (proto, client, server, expected) => {
    const ruleSet = await loadRules(rules);
    expect(onPacket(ruleSet, { client, server, proto })).toEqual(expected);
  });
});

describe('direction', () => {
  it('selects packets by the way they travel and reports that way', async () => {
    const ruleSet = await loadRules([
      { id: 31, match: { direction: 'to_server' } },
      { id: 32, match: { direction: 'to_client' } },
      { id: 33, match: { direction: 'any' } },
    ]);
    const h = new DetectHarness(ruleSet);
    const flow = makeFlow({ client: '10.1.1.5', server: '198.51.100.7' });
    h.packet(flow, TO_CLIENT);
    expect(h.alerts.map((a) => [a.rule.id, a.dir])).toEqual([
      [32, TO_CLIENT],
      [33, TO_CLIENT],
    ]);
    h.packet(flow, TO_SERVER);
    expect(h.alerts.map((a) => [a.rule.id, a.dir]).slice(2)).toEqual([[31, TO_SERVER]]);
  });

  it('selects events by the direction the analyzer reported', async () => {
    const ruleSet = await loadRules([
      { id: 34, match: { direction: 'to_server', event: { type: 'hl7.message' } } },
      { id: 35, match: { direction: 'to_client', event: { type: 'hl7.message', messageType: 'ACK' } } },
    ]);
    expect(onEvent(ruleSet, hl7Message(TO_CLIENT))).toEqual([]);
    expect(onEvent(ruleSet, hl7Message(TO_SERVER, { messageType: 'ACK' }))).toEqual([34]);
    expect(onEvent(ruleSet, hl7Message(TO_CLIENT, { messageType: 'ACK' }))).toEqual([35]);
  });
});

describe('application protocol', () => {
  const rules: RuleText[] = [
    { id: 41, match: { app_proto: ['hl7', 'cms8000'] } },
    { id: 42, match: { not_app_proto: ['lpd'] } },
    { id: 43, match: { app_proto: ['unknown'] } },
  ];

  it.each([
    ['', [42, 43]],
    ['hl7', [41, 42]],
    ['cms8000', [41, 42]],
    ['lpd', []],
    ['nfs', [42]],
  ])("flow recognised as '%s'", async (appProto, expected) => {
    const ruleSet = await loadRules(rules);
    expect(onPacket(ruleSet, { client: '10.1.1.5', server: '198.51.100.7', appProto })).toEqual(expected);
  });

  it('is tested on every packet, so a rule fires once the analyzers recognise the flow', async () => {
    const ruleSet = await loadRules([{ id: 41, match: { app_proto: ['hl7'] } }]);
    const h = new DetectHarness(ruleSet);
    const flow = makeFlow({ client: '10.1.1.5', server: '198.51.100.7', serverPort: 2575 });
    h.packet(flow, TO_SERVER, T0);
    h.packet(flow, TO_CLIENT, T0 + 1);
    expect(h.alerts).toEqual([]);
    flow.appProto = 'hl7';
    h.packet(flow, TO_SERVER, T0 + 2);
    expect(h.alerts.map((a) => [a.rule.id, a.tsSec, a.matches])).toEqual([[41, T0 + 2, 1]]);
  });
});

describe('events', () => {
  const rules: RuleText[] = [
    { id: 51, match: { event: { type: ['hl7.message', 'cms8000.detected'] } } },
    { id: 52, match: { event: { type: 'hl7.message', messageType: 'ORU' } } },
    { id: 53, match: { event: { type: 'hl7.message', messageType: ['ADT', 'ORM'] } } },
    { id: 54, match: { event: { type: 'hl7.message', sendingApplication: { prefix: 'CMS' } } } },
    { id: 55, match: { event: { type: 'hl7.message', sendingFacility: { contains: 'ARD' } } } },
    { id: 56, match: { event: { type: 'hl7.message', messageType: { not: ['ACK', 'QRY'] } } } },
    { id: 57, match: { event: { type: 'hl7.message', identitySegments: 'PID' } } },
    { id: 58, match: { event: { type: 'hl7.message', segments: ['NTE', 'OBX'] } } },
    { id: 59, match: { event: { type: 'lpd.command', code: 2 } } },
    { id: 60, match: { event: { type: 'mount.call', procedure: 'MNT', path: { prefix: '/pm' } } } },
    { id: 61, match: { event: { type: 'nfs.call', operations: { contains: 'ROOT' } } } },
  ];

  const cases: Array<[string, AppEvent, number[]]> = [
    ['an ORU^R01 from the monitor', hl7Message(TO_SERVER), [51, 52, 54, 55, 56, 57, 58]],
    [
      'an ADT^A01 from the EHR',
      hl7Message(TO_SERVER, { messageType: 'ADT', triggerEvent: 'A01', sendingApplication: 'EPIC', sendingFacility: 'ICU', segments: ['MSH', 'EVN', 'PID', 'PV1'] }),
      [51, 53, 56, 57],
    ],
    [
      'an ACK without patient identity',
      hl7Message(TO_SERVER, { messageType: 'ACK', triggerEvent: '', sendingApplication: 'HIS', sendingFacility: 'MAIN', segments: ['MSH', 'MSA'], identitySegments: [] }),
      [51],
    ],
    ['a CMS8000 detection', cms8000Detected(TO_SERVER), [51]],
    ['an LPD receive-job', lpdCommand(TO_SERVER, 'receive-job', 2), [59]],
    ['an LPD queue-state-short', lpdCommand(TO_SERVER, 'queue-state-short', 3), []],
    ['a MNT of /pm', mountCall(TO_SERVER, 'MNT', '/pm'), [60]],
    ['a MNT of /pm/update', mountCall(TO_SERVER, 'MNT', '/pm/update'), [60]],
    ['a MNT of /export/home', mountCall(TO_SERVER, 'MNT', '/export/home'), []],
    ['an UMNT of /pm', mountCall(TO_SERVER, 'UMNT', '/pm'), []],
    ['an NFSv4 COMPOUND with PUTROOTFH', nfsCall(TO_SERVER, 'COMPOUND', ['SEQUENCE', 'PUTROOTFH', 'GETATTR']), [61]],
    ['an NFSv4 COMPOUND reading a file', nfsCall(TO_SERVER, 'COMPOUND', ['SEQUENCE', 'PUTFH', 'READ']), []],
    ['a portmap GETPORT', portmapCall(TO_SERVER), []],
  ];

  it.each(cases)('%s', async (_name, event, expected) => {
    expect(onEvent(await loadRules(rules), event)).toEqual(expected);
  });

  it('carries the triggering event on the alert', async () => {
    const h = new DetectHarness(await loadRules([rules[1]]));
    const event = hl7Message(TO_SERVER);
    h.event(makeFlow({ client: '10.1.1.5', server: '198.51.100.7', startSec: T0 + 7 }), event);
    expect(h.alerts).toHaveLength(1);
    expect(h.alerts[0].event).toBe(event);
    expect(h.alerts[0].tsSec).toBe(T0 + 7);
  });

  it('does not match a field the analyzer left out (the none evidence mode has no MNT path)', async () => {
    const ruleSet = await loadRules([rules[9]]);
    const { path: _path, ...withoutPath } = mountCall(TO_SERVER, 'MNT', '/pm');
    expect(onEvent(ruleSet, withoutPath)).toEqual([]);
  });

  it('does not fire event rules on packets, nor packet rules on events', async () => {
    const ruleSet = await loadRules([
      { id: 62, match: { event: { type: 'hl7.message' } } },
      { id: 63, match: { at: 'packet' } },
    ]);
    const h = new DetectHarness(ruleSet);
    const flow = makeFlow({ client: '10.1.1.5', server: '198.51.100.7' });
    h.event(flow, hl7Message(TO_SERVER));
    expect(h.alertIds()).toEqual([62]);
    h.packet(flow);
    expect(h.alertIds()).toEqual([62, 63]);
  });

  describe('a negated test on a list field holds when no element matches', () => {
    // "HL7 without a patient identification segment"
    const rule: RuleText = { id: 64, match: { event: { type: 'hl7.message', identitySegments: { not: 'PID' } } } };

    it('fires for a message with no identity segments at all', async () => {
      expect(onEvent(await loadRules([rule]), hl7Message(TO_SERVER, { segments: ['MSH', 'MSA'], identitySegments: [] }))).toEqual([64]);
    });

    it('fires for a message whose identity segments do not include PID', async () => {
      expect(onEvent(await loadRules([rule]), hl7Message(TO_SERVER, { segments: ['MSH', 'NK1'], identitySegments: ['NK1'] }))).toEqual([64]);
    });

    it('stays quiet for a message that carries PID', async () => {
      expect(onEvent(await loadRules([rule]), hl7Message(TO_SERVER, { identitySegments: ['PID', 'PV1'] }))).toEqual([]);
    });
  });
});

describe('seen', () => {
  it('holds a packet rule back until the flow has shown the event', async () => {
    const h = new DetectHarness(await loadRules([{ id: 71, match: { seen: ['hl7.message'] } }]));
    const flow = makeFlow({ client: '10.1.1.5', server: '198.51.100.7' });
    h.packet(flow);
    h.event(flow, lpdCommand(TO_SERVER));
    h.packet(flow);
    expect(h.alerts).toEqual([]);
    h.event(flow, hl7Message(TO_SERVER));
    h.packet(flow, TO_CLIENT);
    expect(h.alerts.map((a) => [a.rule.id, a.dir])).toEqual([[71, TO_CLIENT]]);
  });

  it('requires every listed event type', async () => {
    const ruleSet = await loadRules([{ id: 72, match: { seen: ['lpd.not_lpd', 'cms8000.detected'], at: 'flow_end' } }]);
    const h = new DetectHarness(ruleSet);
    const onlyOne = makeFlow({ client: '10.1.1.5', server: '198.51.100.7' });
    const both = makeFlow({ client: '10.1.1.6', server: '198.51.100.7' });
    h.event(onlyOne, notLpd(TO_SERVER));
    h.event(both, notLpd(TO_SERVER));
    h.event(both, cms8000Detected(TO_SERVER));
    h.end(onlyOne);
    h.end(both);
    expect(h.alerts.map((a) => a.flow)).toEqual([both]);
  });

  it('shows at the flow end the last event of the type it requires seen, not a later event of another protocol', async () => {
    const h = new DetectHarness(await loadRules([{ id: 73, match: { seen: ['lpd.not_lpd'], at: 'flow_end' } }]));
    const flow = makeFlow({ client: '10.1.1.5', server: '198.51.100.7' });
    h.event(flow, notLpd(TO_CLIENT));
    h.event(flow, notLpd(TO_SERVER));
    h.event(flow, hl7Message(TO_CLIENT));
    h.end(flow);
    expect(h.alerts.map((a) => [a.event?.type, a.dir])).toEqual([['lpd.not_lpd', TO_SERVER]]);
  });
});

describe('unless_alerted', () => {
  const rules: RuleText[] = [
    { id: 81, match: { server_port: 515, event: { type: 'hl7.message' } } },
    { id: 82, match: { seen: ['hl7.message'], unless_alerted: [81], at: 'flow_end' } },
  ];

  it('stays quiet on a flow where the named rule alerted', async () => {
    const h = new DetectHarness(await loadRules(rules));
    const flow = makeFlow({ client: '10.1.1.5', server: '198.51.100.7', serverPort: 515 });
    h.event(flow, hl7Message(TO_SERVER));
    h.end(flow);
    expect(h.alertIds()).toEqual([81]);
  });

  it('fires on a flow where the named rule did not alert', async () => {
    const h = new DetectHarness(await loadRules(rules));
    const flow = makeFlow({ client: '10.1.1.5', server: '198.51.100.7', serverPort: 2575 });
    h.event(flow, hl7Message(TO_SERVER));
    h.end(flow);
    expect(h.alertIds()).toEqual([82]);
  });

  it('looks only at the same flow', async () => {
    const h = new DetectHarness(await loadRules(rules));
    const on515 = makeFlow({ client: '10.1.1.5', server: '198.51.100.7', serverPort: 515 });
    const on2575 = makeFlow({ client: '10.1.1.5', server: '198.51.100.7', serverPort: 2575 });
    h.event(on515, hl7Message(TO_SERVER));
    h.event(on2575, hl7Message(TO_SERVER));
    h.end(on515);
    h.end(on2575);
    expect(h.alerts.map((a) => [a.rule.id, a.flow])).toEqual([
      [81, on515],
      [82, on2575],
    ]);
  });

  it('counts only alerts that went out, not suppressed ones', async () => {
    const h = new DetectHarness(await loadRules(rules, { suppressions: [{ id: 81 }] }));
    const flow = makeFlow({ client: '10.1.1.5', server: '198.51.100.7', serverPort: 515 });
    h.event(flow, hl7Message(TO_SERVER));
    h.end(flow);
    expect(h.alertIds()).toEqual([82]);
  });
});

describe('unless_seen_between_hosts', () => {
  const rules: RuleText[] = [
    { id: 91, match: { app_proto: ['portmap'], unless_seen_between_hosts: { type: 'mount.call', procedure: 'MNT' }, at: 'flow_end' } },
  ];
  const portmapFlow = (client: string, server: string) => makeFlow({ client, server, proto: 'udp', clientPort: 812, serverPort: 111, appProto: 'portmap' });
  const mountFlow = (client: string, server: string) => makeFlow({ client, server, proto: 'udp', clientPort: 813, serverPort: 20048, appProto: 'mount' });

  it('is silenced by a matching event on another flow between the same hosts', async () => {
    const h = new DetectHarness(await loadRules(rules));
    const portmap = portmapFlow('10.1.1.5', '198.51.100.7');
    h.event(portmap, portmapCall(TO_SERVER));
    const mount = mountFlow('10.1.1.5', '198.51.100.7');
    h.event(mount, mountCall(TO_SERVER, 'MNT', '/pm'));
    h.end(mount);
    h.end(portmap);
    expect(h.alerts).toEqual([]);
  });

  it('is not silenced by the event between other hosts, nor by an event that fails the field tests', async () => {
    const h = new DetectHarness(await loadRules(rules));
    const portmap = portmapFlow('10.1.1.5', '198.51.100.7');
    h.event(mountFlow('10.1.1.6', '198.51.100.7'), mountCall(TO_SERVER, 'MNT', '/pm'));
    h.event(mountFlow('10.1.1.5', '198.51.100.8'), mountCall(TO_SERVER, 'MNT', '/pm'));
    h.event(mountFlow('10.1.1.5', '198.51.100.7'), mountCall(TO_SERVER, 'UMNT', '/pm'));
    h.end(portmap);
    expect(h.alerts.map((a) => [a.rule.id, a.flow])).toEqual([[91, portmap]]);
  });

  it('tells IPv6 host pairs apart', async () => {
    const h = new DetectHarness(await loadRules(rules));
    const portmap = portmapFlow('fd00::5', '2001:db8::7');
    h.event(mountFlow('fd00::5', '2001:db8::8'), mountCall(TO_SERVER, 'MNT', '/pm'));
    h.end(portmap);
    const silenced = portmapFlow('fd00::5', '2001:db8::8');
    h.end(silenced);
    expect(h.alerts.map((a) => a.flow)).toEqual([portmap]);
  });
});

describe('when rules are evaluated', () => {
  const rules: RuleText[] = [
    { id: 101, match: { at: 'packet' } },
    { id: 102, match: { event: { type: 'hl7.message' } } },
    { id: 103, match: { at: 'flow_end' } },
  ];

  it('packet rules on packets, event rules on events, flow-end rules before the flow record', async () => {
    const h = new DetectHarness(await loadRules(rules));
    const flow = makeFlow({ client: '10.1.1.5', server: '198.51.100.7' });
    h.packet(flow, TO_SERVER, T0);
    expect(h.alertIds()).toEqual([101]);
    h.event(flow, hl7Message(TO_CLIENT), T0 + 1);
    expect(h.alertIds()).toEqual([101, 102]);
    h.event(flow, cms8000Summary(TO_SERVER), T0 + 2);
    expect(h.sink.flows).toEqual([]);
    h.end(flow, 'timeout');
    expect(h.alertIds()).toEqual([101, 102, 103]);
    expect(h.sink.flows).toHaveLength(1);
    expect(h.sink.flows[0]).toMatchObject({ flow, reason: 'timeout', alerted: true });

    const atEnd = h.alerts[2];
    // The last informative event (summaries aside) explains a flow-end alert; the alert is about
    // the flow, so it reads client to server whoever spoke last.
    expect(atEnd.event).toMatchObject({ type: 'hl7.message' });
    expect(atEnd.dir).toBe(TO_SERVER);
    expect(atEnd.tsSec).toBe(T0 + 2);
    expect(flow.detect).toBeNull();
  });

  it('a flow-end rule on a flow without events reports no event, towards the server', async () => {
    const h = new DetectHarness(await loadRules([rules[2]]));
    const flow = makeFlow({ client: '10.1.1.5', server: '198.51.100.7' });
    h.end(flow);
    expect(h.alerts).toHaveLength(1);
    expect(h.alerts[0]).toMatchObject({ event: null, dir: TO_SERVER, matches: 1 });
  });
});

describe('per_flow', () => {
  it("'every' alerts on each match with the running count; 'once' alerts on the first", async () => {
    const h = new DetectHarness(
      await loadRules([
        { id: 111, per_flow: 'every', match: { direction: 'to_server' } },
        { id: 112, match: { direction: 'to_server' } },
      ]),
    );
    const flow = makeFlow({ client: '10.1.1.5', server: '198.51.100.7' });
    for (let i = 0; i < 3; i++) {
      h.packet(flow, TO_SERVER, T0 + i);
      h.packet(flow, TO_CLIENT, T0 + i);
    }
    expect(h.alerts.map((a) => [a.rule.id, a.matches, a.tsSec])).toEqual([
      [111, 1, T0],
      [112, 1, T0],
      [111, 2, T0 + 1],
      [111, 3, T0 + 2],
    ]);
  });
});

describe('alert context', () => {
  it('names the capture file and packet number where the rule fired', async () => {
    const h = new DetectHarness(await loadRules([{ id: 121, match: { direction: 'to_client' } }]));
    const flow = makeFlow({ client: '10.1.1.5', server: '198.51.100.7' });
    h.packet(flow, TO_SERVER);
    h.packet(flow, TO_SERVER);
    h.packet(flow, TO_CLIENT);
    expect(h.alerts).toHaveLength(1);
    expect(h.alerts[0]).toMatchObject({ captureFile: 'ward-3.pcap', packetNumber: 3, interfaceName: null, indicator: null, note: null, severity: 3 });
  });
});

describe('flow-level alerts read client to server', () => {
  it('orients a flow-end alert to_server even when the server spoke last, with the client\'s event as evidence', async () => {
    const h = new DetectHarness(await loadRules([{ id: 131, match: { client: '$HOME_NET', server: '$EXTERNAL_NET', seen: ['nfs.call'], at: 'flow_end' } }]));
    const flow = makeFlow({ client: '10.20.30.44', server: '203.0.113.61', clientPort: 872, serverPort: 2049 });
    const call = nfsCall(TO_SERVER);
    h.event(flow, call);
    h.event(flow, mountCall(TO_CLIENT));
    h.end(flow);
    expect(h.alerts.map((a) => [a.rule.id, a.dir, a.event])).toEqual([[131, TO_SERVER, call]]);
  });

  it('still orients it to_server when only the server said anything', async () => {
    const h = new DetectHarness(await loadRules([{ id: 132, match: { seen: ['lpd.not_lpd'], at: 'flow_end' } }]));
    const flow = makeFlow({ client: '10.1.1.5', server: '198.51.100.7' });
    const reply = notLpd(TO_CLIENT);
    h.event(flow, reply);
    h.end(flow);
    expect(h.alerts.map((a) => [a.dir, a.event])).toEqual([[TO_SERVER, reply]]);
  });
});
