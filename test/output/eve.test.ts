import { describe, expect, it } from 'vitest';
import type { EvidenceMode } from '../../src/analyzers/analyzer.js';
import { AppLayerStats } from '../../src/analyzers/app-layer.js';
import { DecodeStats } from '../../src/decode/decode-stats.js';
import { DefragStats } from '../../src/decode/defrag.js';
import { LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_NULL } from '../../src/decode/link-types.js';
import { IPPROTO_ICMP, IPPROTO_UDP } from '../../src/decode/packet-view.js';
import { DetectStats } from '../../src/detect/detect-engine.js';
import { DedupStats, FlowStats, ReassemblyStats } from '../../src/flow/flow-stats.js';
import { alertRecord, EVE_EXTENSION_KEYS, flowRecord, statsRecord } from '../../src/output/eve.js';
import type { RunStats } from '../../src/stats/run-stats.js';
import { TcpState } from '../../src/flow/flow.js';
import { EVENTS, INDICATOR, makeAlert, makeFlow, makeFlowRecord, PATIENT_STRINGS, schemaErrors, T0 } from './fixtures.js';

const MODES: EvidenceMode[] = ['none', 'redacted', 'full'];
type Rec = Record<string, any>;

describe('EVE alert records', () => {
  it('writes the timestamp as Suricata does: UTC with microseconds and a numeric zone', () => {
    const rec = alertRecord(makeAlert({ tsSec: T0, tsNsec: 123_456_789 }));
    expect(rec.timestamp).toBe('2025-01-30T10:00:00.123456+0000');
    const early = alertRecord(makeAlert({ tsSec: T0 + 3661, tsNsec: 999 }));
    expect(early.timestamp).toBe('2025-01-30T11:01:01.000000+0000');
  });

  it('takes src from the client for a to_server trigger and from the server for a to_client one', () => {
    const flow = makeFlow({ client: '10.1.2.3', server: '202.114.4.119', clientPort: 40000, serverPort: 2049 });
    const toServer = alertRecord(makeAlert({ flow, dir: 0 })) as Rec;
    expect([toServer.src_ip, toServer.src_port, toServer.dest_ip, toServer.dest_port]).toEqual(['10.1.2.3', 40000, '202.114.4.119', 2049]);
    expect(toServer.direction).toBe('to_server');
    const toClient = alertRecord(makeAlert({ flow, dir: 1 })) as Rec;
    expect([toClient.src_ip, toClient.src_port, toClient.dest_ip, toClient.dest_port]).toEqual(['202.114.4.119', 2049, '10.1.2.3', 40000]);
    expect(toClient.direction).toBe('to_client');
    // The flow object keeps the flow's own orientation and counters.
    expect(toClient.flow).toMatchObject({ src_ip: '10.1.2.3', dest_ip: '202.114.4.119', pkts_toserver: 10, pkts_toclient: 8, bytes_toserver: 4000, bytes_toclient: 600 });
    expect(toClient.flow.start).toBe('2025-01-30T10:00:00.000000+0000');
  });

  it('formats IPv6 addresses canonically', () => {
    const flow = makeFlow({ client: '2001:DB8:0:0:0:0:0:1', server: 'fe80::0:0:abcd' });
    const rec = alertRecord(makeAlert({ flow })) as Rec;
    expect(rec.src_ip).toBe('2001:db8::1');
    expect(rec.dest_ip).toBe('fe80::abcd');
    expect(schemaErrors(rec)).toBe('');
  });

  it('lists VLAN ids only when the flow is tagged', () => {
    expect('vlan' in alertRecord(makeAlert())).toBe(false);
    const tagged = alertRecord(makeAlert({ flow: makeFlow({ vlans: [100, 4001] }) }));
    expect(tagged.vlan).toEqual([100, 4001]);
    expect(schemaErrors(tagged)).toBe('');
  });

  it('names protocols as Suricata does and leaves ports out where there are none', () => {
    expect(alertRecord(makeAlert()).proto).toBe('TCP');
    expect(alertRecord(makeAlert({ flow: makeFlow({ proto: IPPROTO_UDP }) })).proto).toBe('UDP');
    const icmp = alertRecord(makeAlert({ flow: makeFlow({ proto: IPPROTO_ICMP }) }));
    expect(icmp.proto).toBe('ICMP');
    expect('src_port' in icmp || 'dest_port' in icmp).toBe(false);
    expect(alertRecord(makeAlert({ flow: makeFlow({ client: 'fe80::1', server: 'fe80::2', proto: 58 }) })).proto).toBe('IPv6-ICMP');
    expect(alertRecord(makeAlert({ flow: makeFlow({ proto: 50 }) })).proto).toBe('50');
  });

  it('fills the alert object from the rule, with the alert\'s own severity', () => {
    const rec = alertRecord(makeAlert({ severity: 2, matches: 3, note: 'the indicator is inside HOME_NET' })) as Rec;
    expect(rec.event_type).toBe('alert');
    expect(rec.flow_id).toBe(1234567890123);
    expect(rec.alert).toEqual({
      action: 'allowed',
      gid: 1,
      signature_id: 1000001,
      rev: 2,
      signature: 'CMS8000 patient data to the LPD port',
      category: 'Patient data exposure',
      severity: 2,
      references: ['cve,CVE-2025-0626', 'url,www.cisa.gov/news-events/ics-medical-advisories/icsma-25-030-01'],
      metadata: { references: ['cve,CVE-2025-0626', 'url,www.cisa.gov/news-events/ics-medical-advisories/icsma-25-030-01'] },
    });
    expect(rec.wardwatch).toMatchObject({ matches: 3, note: 'the indicator is inside HOME_NET', rule_file: 'rules/cms8000.yaml:12:5' });
    expect(schemaErrors(rec)).toBe('');
  });

  it('names the capture file and packet number on replay, the interface when live', () => {
    const replay = alertRecord(makeAlert({ captureFile: 'ward3.pcapng', packetNumber: 4711 }));
    expect(replay.pcap_cnt).toBe(4711);
    expect(replay.pcap_filename).toBe('ward3.pcapng');
    expect('in_iface' in replay).toBe(false);
    const live = alertRecord(makeAlert({ interfaceName: 'eth1' }));
    expect(live.in_iface).toBe('eth1');
    expect('pcap_cnt' in live || 'pcap_filename' in live).toBe(false);
    expect(schemaErrors(replay)).toBe('');
    expect(schemaErrors(live)).toBe('');
  });

  it('sets app_proto only when the flow\'s protocol is known', () => {
    expect('app_proto' in alertRecord(makeAlert())).toBe(false);
    expect(alertRecord(makeAlert({ flow: makeFlow({ appProto: 'cms8000' }) })).app_proto).toBe('cms8000');
  });

  for (const [type, event] of Object.entries(EVENTS)) {
    it(`validates against the EVE schema for a ${type} alert in every evidence mode`, () => {
      for (const evidence of MODES) {
        const rec = alertRecord(makeAlert({ event, indicator: INDICATOR, captureFile: 'a.pcap', packetNumber: 3 }), { evidence });
        expect(schemaErrors(rec), `${type} / ${evidence}`).toBe('');
      }
    });
  }

  it('carries patient data only in the full evidence mode', () => {
    for (const event of [EVENTS['hl7.message'], EVENTS['cms8000.patient']]) {
      for (const evidence of MODES) {
        const text = JSON.stringify(alertRecord(makeAlert({ event }), { evidence }));
        for (const secret of PATIENT_STRINGS) {
          expect(text.includes(secret), `${event.type} / ${evidence} / ${secret}`).toBe(evidence === 'full');
        }
      }
    }
    const full = alertRecord(makeAlert({ event: EVENTS['cms8000.patient'] }), { evidence: 'full' }) as Rec;
    expect(full.cms8000.phi).toMatchObject({ name: 'DOE^JANE', patient_number: 'MRN123456', birth_date: '19700101', bed: 4 });
    const hl7 = alertRecord(makeAlert({ event: EVENTS['hl7.message'] }), { evidence: 'full' }) as Rec;
    expect(hl7.hl7.phi.text).toContain('PID|1||MRN123456||DOE^JANE||19700101');
  });

  it('keeps only the alert, addresses, flow and indicator in the none evidence mode', () => {
    for (const event of Object.values(EVENTS)) {
      const rec = alertRecord(makeAlert({ event, indicator: INDICATOR }), { evidence: 'none' });
      for (const key of ['hl7', 'cms8000', 'lpd', 'mount', 'portmap', 'rpc', 'nfs']) expect(key in rec, `${event.type}: ${key}`).toBe(false);
      expect(rec.indicator).toEqual({
        side: 'server',
        address: '202.114.4.119',
        indicator: '202.114.4.119',
        description: 'CMS8000 backdoor NFS server',
        source: 'CISA ICSMA-25-030-01',
        exact: true,
        in_home_net: false,
      });
      expect(rec.alert).toBeDefined();
      expect(rec.flow).toBeDefined();
      expect(rec.src_ip).toBe('10.1.2.3');
    }
  });

  it('describes an HL7 message by its structure in the redacted mode', () => {
    const rec = alertRecord(makeAlert({ event: EVENTS['hl7.message'] }), { evidence: 'redacted' }) as Rec;
    expect(rec.hl7).toEqual({
      message_type: 'ORU^R01',
      version: '2.5',
      control_id: 'MSG00042',
      sending_application: 'MONITOR',
      sending_facility: 'WARD3',
      framing: 'mllp',
      segments: ['MSH', 'PID', 'OBX'],
      identity_segments: ['PID'],
      length: EVENTS['hl7.message'].type === 'hl7.message' ? EVENTS['hl7.message'].length : -1,
      truncated: false,
    });
  });

  it('writes CMS8000 block types in hex and whether a patient block was seen', () => {
    const detected = alertRecord(makeAlert({ event: EVENTS['cms8000.detected'] })) as Rec;
    expect(detected.cms8000).toEqual({ event: 'detected', block_types: ['0x3E', '0x45', '0x46'], patient_block_seen: true });
    const summary = alertRecord(makeAlert({ event: EVENTS['cms8000.summary'] })) as Rec;
    expect(summary.cms8000).toMatchObject({ block_types: ['0x3E', '0x45', '0x46'], patient_block_seen: true, patient_blocks: 2, block_counts: { '0x46': 300 } });
    const noPatient = alertRecord(makeAlert({ event: { type: 'cms8000.detected', proto: 'cms8000', dir: 0, blockTypes: [0x45, 0x46] } })) as Rec;
    expect(noPatient.cms8000.patient_block_seen).toBe(false);
  });

  it('uses Suricata\'s rpc and nfs objects for RPC events', () => {
    const call = alertRecord(makeAlert({ event: EVENTS['rpc.call'] })) as Rec;
    expect(call.rpc).toEqual({ xid: 0x1234, auth_type: 'UNIX', creds: { machine_name: 'monitor-7', uid: 0, gid: 0 } });
    expect(call.mount).toEqual({ procedure: 'MNT', version: 3 });
    const reply = alertRecord(makeAlert({ event: EVENTS['rpc.reply'], dir: 1 })) as Rec;
    expect(reply.rpc).toEqual({ xid: 0x1234, status: 'ACCEPTED' });
    const nfs = alertRecord(makeAlert({ event: EVENTS['nfs.call'] })) as Rec;
    expect(nfs.nfs).toEqual({ version: 4, procedure: 'COMPOUND', type: 'request' });
    expect(nfs.wardwatch.nfs).toEqual({ minor_version: 0, operations: ['PUTROOTFH', 'LOOKUP'] });
    const mount = alertRecord(makeAlert({ event: EVENTS['mount.call'] })) as Rec;
    expect(mount.mount).toEqual({ procedure: 'MNT', version: 3, path: '/pm' });
    expect(mount.rpc).toEqual({ xid: 8 });
    const portmap = alertRecord(makeAlert({ event: EVENTS['portmap.call'] })) as Rec;
    expect(portmap.portmap).toMatchObject({ procedure: 'GETPORT', program: 100005, program_name: 'mount', program_version: 3, transport: 'tcp' });
    const mapping = alertRecord(makeAlert({ event: EVENTS['portmap.mapping'], dir: 1 })) as Rec;
    expect(mapping.portmap).toMatchObject({ program: 100005, program_version: 3, transport: 'tcp', port: 635 });
    const lpd = alertRecord(makeAlert({ event: EVENTS['lpd.not_lpd'] })) as Rec;
    expect(lpd.lpd).toEqual({ looks_like: 'binary' });
  });

  it('is checked by a validator that refuses what the schema forbids', () => {
    const rec = alertRecord(makeAlert()) as Rec;
    expect(schemaErrors(rec)).toBe('');
    expect(schemaErrors({ ...rec, evidence: {} })).not.toBe('');
    expect(schemaErrors({ ...rec, alert: { ...rec.alert, extra: 1 } })).not.toBe('');
    expect(schemaErrors({ ...rec, flow_id: 'x' })).not.toBe('');
    const stats = { timestamp: rec.timestamp, event_type: 'stats', stats: { wardwatch: {} } };
    expect(schemaErrors(stats)).not.toBe('');
  });

  it('documents extension keys that Suricata does not use', () => {
    expect([...EVE_EXTENSION_KEYS].sort()).toEqual(['cms8000', 'dicom', 'hl7', 'indicator', 'inventory', 'lpd', 'mount', 'portmap', 'wardwatch']);
  });
});

describe('EVE flow records', () => {
  it('writes Suricata\'s flow and tcp objects with hex flags and the per-rule match counts', () => {
    const flow = makeFlow({ tcpFlags: [0x1b, 0x16], packets: [12, 9], bytes: [5000, 800], startSec: T0, startNsec: 5_000, lastSec: T0 + 75, lastNsec: 1_000_000, tcpState: TcpState.Closed, appProto: 'cms8000' });
    const rec = flowRecord(makeFlowRecord(flow, 'closed', [[1000001, 3]], true)) as Rec;
    expect(rec.event_type).toBe('flow');
    expect(rec.timestamp).toBe('2025-01-30T10:00:00.000005+0000');
    expect(rec.app_proto).toBe('cms8000');
    expect(rec.flow).toEqual({
      pkts_toserver: 12,
      pkts_toclient: 9,
      bytes_toserver: 5000,
      bytes_toclient: 800,
      start: '2025-01-30T10:00:00.000005+0000',
      end: '2025-01-30T10:01:15.001000+0000',
      age: 75,
      state: 'closed',
      reason: 'timeout',
      alerted: true,
    });
    expect(rec.tcp).toEqual({ tcp_flags: '1f', tcp_flags_ts: '1b', tcp_flags_tc: '16', fin: true, syn: true, rst: true, psh: true, ack: true, state: 'closed' });
    expect(rec.wardwatch).toEqual({ end_reason: 'closed', midstream: false, rule_matches: { '1000001': 3 } });
    expect(schemaErrors(rec)).toBe('');
  });

  it('maps end reasons to Suricata\'s and keeps wardwatch\'s own', () => {
    const cases: Array<[Parameters<typeof makeFlowRecord>[1], string]> = [
      ['timeout', 'timeout'],
      ['closed', 'timeout'],
      ['evicted', 'forced'],
      ['end-of-input', 'shutdown'],
    ];
    for (const [ours, suricata] of cases) {
      const rec = flowRecord(makeFlowRecord(makeFlow(), ours)) as Rec;
      expect(rec.flow.reason).toBe(suricata);
      expect(rec.wardwatch.end_reason).toBe(ours);
    }
  });

  it('writes an unanswered SYN as a new flow, and UDP without a tcp object', () => {
    const syn = flowRecord(makeFlowRecord(makeFlow({ tcpFlags: [0x02, 0], packets: [3, 0], bytes: [180, 0], tcpState: TcpState.SynSent }), 'timeout')) as Rec;
    expect(syn.flow.state).toBe('new');
    expect(syn.tcp).toEqual({ tcp_flags: '02', tcp_flags_ts: '02', tcp_flags_tc: '00', syn: true, state: 'syn_sent' });
    const udp = flowRecord(makeFlowRecord(makeFlow({ proto: IPPROTO_UDP, client: '2001:db8::5', server: '2001:db8::9', vlans: [7] }), 'timeout')) as Rec;
    expect('tcp' in udp).toBe(false);
    expect(udp.flow.state).toBe('established');
    expect(udp.vlan).toEqual([7]);
    expect(udp.src_ip).toBe('2001:db8::5');
    expect(schemaErrors(syn)).toBe('');
    expect(schemaErrors(udp)).toBe('');
  });
});

describe('EVE stats records', () => {
  function counters(): RunStats {
    const decode = new DecodeStats();
    decode.packets = 5000;
    decode.bytes = 2_500_000;
    decode.ipv4 = 4000;
    decode.ipv6 = 900;
    decode.tcp = 3800;
    decode.udp = 1000;
    decode.icmpv4 = 60;
    decode.icmpv6 = 40;
    decode.vlan = 300;
    decode.nonIp = 11;
    decode.countLinkType(LINKTYPE_ETHERNET);
    decode.countLinkType(LINKTYPE_ETHERNET);
    decode.countLinkType(LINKTYPE_LINUX_SLL);
    decode.countLinkType(LINKTYPE_NULL);
    for (let i = 0; i < 7; i++) decode.countInvalid('ipv4.trunc_pkt');
    decode.countInvalid('null.pkt_too_small');
    decode.countInvalid('link.unsupported');
    decode.countInvalid('tcp.invalid_optlen');
    decode.countAnomaly('tcp.invalid_optlen');
    decode.countAnomaly('frag.overlap_conflict');
    const defrag = new DefragStats();
    defrag.fragments = 12;
    defrag.reassembled = 4;
    const flows = new FlowStats();
    Object.assign(flows, { total: 40, tcp: 30, udp: 9, icmp: 1, active: 2, endedTimeout: 5, endedClosed: 25, endedEvicted: 3, endedEndOfInput: 5, midstream: 6 });
    const reassembly = new ReassemblyStats();
    Object.assign(reassembly, { gaps: 2, overlaps: 8, overlapConflicts: 1, segmentsDroppedMemcap: 4, depthReached: 3, sequenceJumps: 9 });
    const dedup = new DedupStats();
    Object.assign(dedup, { checked: 5000, suppressed: 17 });
    const app = new AppLayerStats();
    app.flowsByProto.set('cms8000', 2).set('hl7', 1).set('unknown', 37);
    const detect = new DetectStats();
    Object.assign(detect, { alerts: 5, suppressed: 2 });
    detect.alertsByRule.set(1000001, 5);
    return { uptimeSec: 12.4, decode, defrag, flows, reassembly, dedup, app, detect, capture: { kernelPackets: 5100, kernelDrops: 100, ifDrops: 3 }, memoryRssBytes: 64_000_000 };
  }

  it('puts counters under Suricata\'s names and validates against the schema', () => {
    const rec = statsRecord(counters(), Date.UTC(2025, 0, 30, 10, 5, 0, 500)) as Rec;
    expect(rec.event_type).toBe('stats');
    expect(rec.timestamp).toBe('2025-01-30T10:05:00.500000+0000');
    const s = rec.stats;
    expect(s.uptime).toBe(12);
    expect(s.decoder).toMatchObject({ pkts: 5000, bytes: 2_500_000, invalid: 10, ipv4: 4000, ipv6: 900, tcp: 3800, udp: 1000, icmpv4: 60, icmpv6: 40, vlan: 300, ethernet: 2, sll: 1, null: 1, avg_pkt_size: 500 });
    expect(s.decoder.event.ipv4.trunc_pkt).toBe(7);
    expect(s.decoder.event.ltnull.pkt_too_small).toBe(1);
    // Counted once as an invalid packet and once as an anomaly: both are the same Suricata event.
    expect(s.decoder.event.tcp.invalid_optlen).toBe(2);
    expect(s.flow).toEqual({ total: 40, tcp: 30, udp: 9, active: 2 });
    expect(s.tcp).toEqual({ midstream_pickups: 6, invalid_checksum: 0, reassembly_gap: 2, overlap: 8, overlap_diff_data: 1, segment_memcap_drop: 4, stream_depth_reached: 3 });
    expect(s.detect).toEqual({ alert: 5, alerts_suppressed: 2 });
    expect(s.capture).toEqual({ kernel_packets: 5100, kernel_drops: 100, kernel_ifdrops: 3 });
    expect(schemaErrors(rec)).toBe('');
  });

  it('puts counters Suricata has no name for in the wardwatch object', () => {
    const rec = statsRecord(counters(), 0) as Rec;
    const w = rec.wardwatch;
    expect(w.decoder_events).toEqual({ 'link.unsupported': 1, 'frag.overlap_conflict': 1 });
    expect(w.dedup).toEqual({ checked: 5000, suppressed: 17 });
    expect(w.flow.ended).toEqual({ timeout: 5, closed: 25, evicted: 3, end_of_input: 5, reused: 0 });
    expect(w.reassembly.sequence_jumps).toBe(9);
    expect(w.defrag).toMatchObject({ fragments: 12, reassembled: 4 });
    expect(w.app_layer.flow).toEqual({ cms8000: 2, hl7: 1, unknown: 37 });
    expect(w.detect.alerts_by_rule).toEqual({ '1000001': 5 });
    expect(w.memory_rss_bytes).toBe(64_000_000);
    expect(w.decoder.non_ip).toBe(11);
  });

  it("puts each output's counters under its name in wardwatch.output, and still validates", () => {
    const input = counters();
    input.outputs = [
      { name: 'eve:/var/log/wardwatch/eve.json', written: 40, dropped: 0, error: null },
      { name: 'redis://10.1.1.5:6379/eve', written: 30, dropped: 2, error: null, queued: 8, spooled: 10, reconnects: 1, connected: true },
      { name: 'syslog+udp://10.1.1.6:514', written: 39, dropped: 0, error: null, queued: 0, spooled: 0, reconnects: 0, connected: false, oversize: 1 },
      { name: 'eve:/dev/full', written: 0, dropped: 5, error: Object.assign(new Error('no space'), { code: 'ENOSPC' }) },
    ];
    const rec = statsRecord(input, 0) as Rec;
    expect(rec.wardwatch.output).toEqual({
      sent: { 'eve:/var/log/wardwatch/eve.json': 40, 'redis://10.1.1.5:6379/eve': 30, 'syslog+udp://10.1.1.6:514': 39, 'eve:/dev/full': 0 },
      queued: { 'redis://10.1.1.5:6379/eve': 8, 'syslog+udp://10.1.1.6:514': 0 },
      spooled: { 'redis://10.1.1.5:6379/eve': 10, 'syslog+udp://10.1.1.6:514': 0 },
      dropped: { 'eve:/var/log/wardwatch/eve.json': 0, 'redis://10.1.1.5:6379/eve': 2, 'syslog+udp://10.1.1.6:514': 0, 'eve:/dev/full': 5 },
      reconnects: { 'redis://10.1.1.5:6379/eve': 1, 'syslog+udp://10.1.1.6:514': 0 },
      oversize: { 'syslog+udp://10.1.1.6:514': 1 },
      connected: { 'redis://10.1.1.5:6379/eve': 1, 'syslog+udp://10.1.1.6:514': 0 },
      failed: { 'eve:/var/log/wardwatch/eve.json': 0, 'redis://10.1.1.5:6379/eve': 0, 'syslog+udp://10.1.1.6:514': 0, 'eve:/dev/full': 1 },
    });
    expect(schemaErrors(rec)).toBe('');
  });

  it('puts a live sensor\'s packets of the interval and its quiet time in wardwatch.capture', () => {
    const input = counters();
    input.capture = { kernelPackets: 5100, kernelDrops: 100, intervalPackets: 250, quietSeconds: 0 };
    const rec = statsRecord(input, 0) as Rec;
    expect(rec.stats.capture).toEqual({ kernel_packets: 5100, kernel_drops: 100 });
    expect(rec.wardwatch.capture).toEqual({ interval_packets: 250, quiet_seconds: 0 });
    expect(schemaErrors(rec)).toBe('');
  });

  it('leaves capture counters out when there are none (replay)', () => {
    const input = counters();
    delete input.capture;
    const rec = statsRecord(input, 0) as Rec;
    expect('capture' in rec.stats).toBe(false);
    expect(schemaErrors(rec)).toBe('');
  });
});
