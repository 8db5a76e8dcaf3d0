import { describe, expect, it } from 'vitest';
import { IPPROTO_TCP, TCP_ACK, TCP_SYN } from '../../src/decode/packet-view.js';
import { formatInventory } from '../../src/output/text.js';
import { Inventory } from '../../src/output/inventory.js';
import { TcpState } from '../../src/flow/flow.js';
import { EVENTS, INDICATOR, makeAlert, makeFlow, makeFlowRecord, makeRule, schemaErrors, T0 } from './fixtures.js';

const indicatorRule = makeRule({ id: 1000010, name: 'Connection to the CMS8000 backdoor NFS server', at: 'packet' });

/** A monitor retrying the blocked NFS server: a SYN that nobody answers. */
function unansweredSyn(i: number) {
  return makeFlow({
    client: '10.1.2.3',
    server: '202.114.4.119',
    clientPort: 50000 + i,
    serverPort: 2049,
    proto: IPPROTO_TCP,
    packets: [3, 0],
    bytes: [180, 0],
    tcpFlags: [TCP_SYN, 0],
    tcpState: TcpState.SynSent,
    startSec: T0 + 60 * i,
    lastSec: T0 + 60 * i + 3,
  });
}

describe('suspected-device inventory', () => {
  it('counts unanswered SYNs of a device that tried to reach an indicator', () => {
    const inv = new Inventory();
    for (let i = 0; i < 12; i++) {
      const flow = unansweredSyn(i);
      inv.alert(makeAlert({ rule: indicatorRule, flow, indicator: INDICATOR, tsSec: flow.startSec }));
      inv.flowEnd(makeFlowRecord(flow, 'timeout', [[1000010, 1]], true));
    }
    // An answered connection of the same host does not count as unanswered.
    const answered = makeFlow({ client: '10.1.2.3', server: '10.9.9.9', serverPort: 6000, packets: [5, 4], tcpFlags: [TCP_SYN | TCP_ACK, TCP_SYN | TCP_ACK], startSec: T0 + 900, lastSec: T0 + 905 });
    inv.flowEnd(makeFlowRecord(answered));

    const { devices } = inv.snapshot();
    expect(devices).toHaveLength(1);
    const d = devices[0];
    expect(d.address).toBe('10.1.2.3');
    expect(d.unansweredSyns).toBe(12);
    expect(d.flows).toBe(13);
    expect(d.indicators).toEqual(['202.114.4.119']);
    expect(d.rules).toEqual([{ id: 1000010, name: 'Connection to the CMS8000 backdoor NFS server', count: 12 }]);
    expect(d.peers).toEqual(['202.114.4.119', '10.9.9.9']);
    expect(d.ports).toEqual([2049, 6000]);
    expect(d.firstSec).toBe(T0);
    expect(d.lastSec).toBe(T0 + 905);
  });

  it('finds CMS8000 clients and HL7 senders from flow ends alone', () => {
    const inv = new Inventory();
    inv.flowEnd(makeFlowRecord(makeFlow({ client: '10.1.2.3', server: '10.0.0.10', serverPort: 515, appProto: 'cms8000' })));
    inv.flowEnd(makeFlowRecord(makeFlow({ client: '10.1.2.8', server: '10.0.0.20', serverPort: 2575, appProto: 'hl7' })));
    inv.flowEnd(makeFlowRecord(makeFlow({ client: '10.1.2.9', server: '10.0.0.30', serverPort: 443 })));
    const devices = inv.snapshot().devices;
    expect(devices.map((d) => d.address)).toEqual(['10.1.2.3', '10.1.2.8']);
    expect(devices[0]).toMatchObject({ speaks: ['CMS8000'], flows: 1, ports: [515], peers: ['10.0.0.10'] });
    expect(devices[1]).toMatchObject({ speaks: ['HL7'] });
  });

  it('lists the hosts the analyzers saw speaking, with the names they go by', () => {
    const inv = new Inventory();
    const flow = makeFlow({ client: '10.0.0.20', server: '10.1.2.8', serverPort: 104, appProto: 'dicom' });
    flow.speakers = [
      { side: 0, label: 'DICOM', name: 'CT_SCANNER' },
      { side: 4, label: 'DICOM', name: 'PACS_MAIN' },
    ];
    inv.flowEnd(makeFlowRecord(flow));
    const byAddress = new Map(inv.snapshot().devices.map((d) => [d.address, d]));
    expect(byAddress.get('10.0.0.20')).toMatchObject({ speaks: ['DICOM'], names: [{ protocol: 'DICOM', name: 'CT_SCANNER' }] });
    expect(byAddress.get('10.1.2.8')).toMatchObject({ speaks: ['DICOM'], names: [{ protocol: 'DICOM', name: 'PACS_MAIN' }] });
  });

  it('stays bounded: hosts beyond the cap are only counted', () => {
    const inv = new Inventory({ maxHosts: 5, maxPeers: 3, maxPorts: 2 });
    for (let i = 0; i < 20; i++) inv.flowEnd(makeFlowRecord(makeFlow({ client: `10.2.0.${i + 1}`, appProto: 'cms8000' })));
    expect(inv.size).toBe(5);
    const snapshot = inv.snapshot();
    expect(snapshot.devices).toHaveLength(5);
    expect(snapshot.hostsNotListed).toBe(15);
    expect(formatInventory(snapshot)).toContain('the list stops at 5 hosts');

    for (let i = 0; i < 10; i++) inv.flowEnd(makeFlowRecord(makeFlow({ client: '10.2.0.1', server: `10.3.0.${i + 1}`, serverPort: 1000 + i })));
    const d = inv.snapshot().devices.find((x) => x.address === '10.2.0.1')!;
    expect(d.peers).toHaveLength(3);
    expect(d.morePeers).toBe(true);
    expect(d.ports).toHaveLength(2);
    expect(d.morePorts).toBe(true);
    expect(d.flows).toBe(11);
  });

  it('keys IPv6 hosts by their canonical text', () => {
    const inv = new Inventory();
    inv.flowEnd(makeFlowRecord(makeFlow({ client: '2001:db8::7', server: '2001:db8::1', appProto: 'cms8000' })));
    inv.flowEnd(makeFlowRecord(makeFlow({ client: '2001:DB8:0::7', server: '2001:db8::2' })));
    const [d] = inv.snapshot().devices;
    expect(d.address).toBe('2001:db8::7');
    expect(d.flows).toBe(2);
  });

  it('renders one line per host saying what it did, and an EVE record that validates', () => {
    const inv = new Inventory();
    for (let i = 0; i < 3; i++) {
      const flow = unansweredSyn(i);
      inv.alert(makeAlert({ rule: indicatorRule, flow, indicator: INDICATOR, tsSec: flow.startSec }));
      inv.flowEnd(makeFlowRecord(flow, 'timeout', [], true));
    }
    inv.flowEnd(makeFlowRecord(makeFlow({ client: '10.1.2.7', server: '10.0.0.10', appProto: 'cms8000' })));
    const text = formatInventory(inv.snapshot());
    const lines = text.split('\n');
    expect(lines[0]).toBe('Suspected devices (2)');
    expect(lines[1]).toContain('10.1.2.3: talked to indicator 202.114.4.119');
    expect(lines[1]).toContain('3 unanswered SYNs');
    expect(lines[1]).toContain('3 flows');
    expect(lines[2]).toContain('10.1.2.7: speaks CMS8000');

    const record = inv.toRecord(Date.UTC(2025, 0, 30, 12)) as Record<string, any>;
    expect(record.event_type).toBe('inventory');
    expect(record.inventory.hosts[0]).toMatchObject({ address: '10.1.2.3', unanswered_syns: 3, indicators: ['202.114.4.119'], first_seen: '2025-01-30T10:00:00.000000+0000' });
    expect(schemaErrors(record)).toBe('');
  });
});
