import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { AppLayerStats } from '../../src/analyzers/app-layer.js';
import type { AppEvent } from '../../src/analyzers/events.js';
import { DecodeStats } from '../../src/decode/decode-stats.js';
import { DefragStats } from '../../src/decode/defrag.js';
import { DetectStats } from '../../src/detect/detect-engine.js';
import { DedupStats, FlowStats, ReassemblyStats } from '../../src/flow/flow-stats.js';
import { Inventory } from '../../src/output/inventory.js';
import { AlertTally } from '../../src/output/alert-tally.js';
import { formatAlertLine, formatSummary, type SummaryInput } from '../../src/output/text.js';
import { TextOutput } from '../../src/output/text-output.js';
import { EVENTS, INDICATOR, makeAlert, makeFlow, makeFlowRecord, makeRule, PATIENT_STRINGS } from './fixtures.js';

const plain = { color: false };

describe('alert lines', () => {
  it('shows time, severity, endpoints, protocol and rule on one line', () => {
    const line = formatAlertLine(makeAlert(), plain);
    expect(line).not.toContain('\n');
    expect(line.startsWith('2025-01-30 10:00:01Z [1:high] 10.1.2.3:40000 -> 202.114.4.119:515 TCP ')).toBe(true);
    expect(line).toContain('CMS8000 patient data to the LPD port (sid 1000001)');
  });

  it('names each severity', () => {
    expect(formatAlertLine(makeAlert({ severity: 2 }), plain)).toContain(' [2:medium] ');
    expect(formatAlertLine(makeAlert({ severity: 3 }), plain)).toContain(' [3:low] ');
  });

  it('writes endpoints in the direction of the trigger, IPv6 in brackets', () => {
    expect(formatAlertLine(makeAlert({ dir: 1 }), plain)).toContain(' 202.114.4.119:515 -> 10.1.2.3:40000 ');
    const v6 = makeFlow({ client: '2001:db8::1', server: '2001:db8::99', serverPort: 2049 });
    expect(formatAlertLine(makeAlert({ flow: v6 }), plain)).toContain(' [2001:db8::1]:40000 -> [2001:db8::99]:2049 ');
  });

  const evidenceCases: Array<[AppEvent['type'], string]> = [
    ['hl7.message', 'ORU^R01 via MLLP'],
    ['cms8000.detected', 'CMS8000 blocks 0x3E,0x45,0x46 (patient data)'],
    ['cms8000.summary', 'CMS8000 blocks 0x3E,0x45,0x46 (patient data'],
    ['cms8000.patient', 'CMS8000 patient block 0x3E'],
    ['lpd.command', 'LPD receive-job queue lp'],
    ['lpd.not_lpd', 'not LPD: binary'],
    ['mount.call', 'MNT /pm'],
    ['mount.reply', 'MNT reply ok'],
    ['portmap.call', 'portmap GETPORT mount v3'],
    ['portmap.mapping', 'portmap mount v3 at tcp port 635'],
    ['rpc.call', 'RPC mount v3 MNT'],
    ['rpc.reply', 'RPC reply success'],
    ['nfs.call', 'NFSv4 COMPOUND PUTROOTFH,LOOKUP'],
    ['nfs.session', 'NFSv4 session'],
  ];
  for (const [type, expected] of evidenceCases) {
    it(`shows the key evidence of a ${type} event`, () => {
      expect(formatAlertLine(makeAlert({ event: EVENTS[type] }), plain)).toContain(expected);
    });
  }

  it('shows the indicator without its description (given once at the end), and the home-net note', () => {
    const line = formatAlertLine(makeAlert({ indicator: INDICATOR, note: 'indicator address is inside HOME_NET' }), plain);
    expect(line).toContain('indicator 202.114.4.119 | ');
    expect(line).not.toContain('CMS8000 backdoor NFS server');
    expect(line).toContain('note: indicator address is inside HOME_NET');
    const cidr = formatAlertLine(makeAlert({ indicator: { ...INDICATOR, address: '202.114.4.7', indicator: '202.114.4.0/24', exact: false } }), plain);
    expect(cidr).toContain('indicator 202.114.4.7 in 202.114.4.0/24');
  });

  it('never shows patient data, whatever the evidence mode', () => {
    for (const event of [EVENTS['hl7.message'], EVENTS['cms8000.patient']]) {
      for (const evidence of ['none', 'redacted', 'full'] as const) {
        const line = formatAlertLine(makeAlert({ event }), { color: false, evidence });
        for (const secret of PATIENT_STRINGS) expect(line).not.toContain(secret);
      }
    }
  });

  it('leaves the analyzer evidence out in the none mode but keeps the indicator', () => {
    const line = formatAlertLine(makeAlert({ event: EVENTS['hl7.message'], indicator: INDICATOR }), { color: false, evidence: 'none' });
    expect(line).not.toContain('ORU');
    expect(line).toContain('indicator 202.114.4.119');
  });

  it('colours only when asked', () => {
    expect(formatAlertLine(makeAlert(), { color: false })).not.toContain('\x1b[');
    expect(formatAlertLine(makeAlert(), { color: true })).toContain('\x1b[31m');
  });

  it('the text output writes one line per alert and nothing for flow ends', () => {
    const out = new PassThrough();
    let written = '';
    out.on('data', (chunk: Buffer) => (written += chunk.toString()));
    const sink = new TextOutput('text:test', out, plain);
    sink.alert(makeAlert());
    sink.alert(makeAlert({ event: EVENTS['mount.call'] }));
    sink.flowEnd(makeFlowRecord(makeFlow()));
    const lines = written.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    expect(lines[1]).toContain('MNT /pm');
  });

  it('describes each indicator entry the alerts matched once, after the alert lines', async () => {
    const out = new PassThrough();
    let written = '';
    out.on('data', (chunk: Buffer) => (written += chunk.toString()));
    const sink = new TextOutput('text:test', out, plain);
    for (let i = 0; i < 3; i++) sink.alert(makeAlert({ indicator: INDICATOR }));
    sink.alert(makeAlert({ indicator: { ...INDICATOR, address: '202.114.4.7', indicator: '202.114.4.0/24', exact: false, description: 'advisory block' } }));
    await sink.close();
    const lines = written.trimEnd().split('\n');
    expect(lines.filter((l) => l.includes('CMS8000 backdoor NFS server'))).toEqual(['  202.114.4.119: 3 alerts | CMS8000 backdoor NFS server; CISA ICSMA-25-030-01']);
    expect(lines.slice(4)).toEqual(['indicators matched', '  202.114.4.119: 3 alerts | CMS8000 backdoor NFS server; CISA ICSMA-25-030-01', '  202.114.4.0/24: 1 alert | advisory block; CISA ICSMA-25-030-01']);
  });
});

describe('end-of-run summary', () => {
  function input(): SummaryInput {
    const decode = new DecodeStats();
    Object.assign(decode, { packets: 5000, bytes: 2_500_000, ipv4: 4900, tcp: 4100, udp: 800 });
    for (let i = 0; i < 7; i++) decode.countInvalid('ipv4.trunc_pkt');
    decode.countInvalid('tcp.hlen_too_small');
    const defrag = new DefragStats();
    Object.assign(defrag, { fragments: 12, reassembled: 4, timeouts: 1 });
    const flows = new FlowStats();
    Object.assign(flows, { total: 40, tcp: 30, udp: 10, endedTimeout: 6, endedClosed: 21, endedEvicted: 3, endedEndOfInput: 10 });
    const reassembly = new ReassemblyStats();
    Object.assign(reassembly, { bytesDelivered: 1_234_567, gaps: 2, overlapConflicts: 1 });
    const dedup = new DedupStats();
    Object.assign(dedup, { checked: 5000, suppressed: 17 });
    const app = new AppLayerStats();
    app.flowsByProto.set('cms8000', 2).set('hl7', 1).set('unknown', 37);
    const detect = new DetectStats();
    Object.assign(detect, { alerts: 5, suppressed: 2 });

    const tally = new AlertTally();
    const monitor = makeFlow({ client: '10.1.2.3' });
    for (let i = 0; i < 4; i++) tally.alert(makeAlert({ flow: monitor, indicator: INDICATOR }));
    tally.alert(makeAlert({ flow: makeFlow({ client: '10.1.2.4' }), rule: makeRule({ id: 1000007, name: 'HL7 with patient identity in cleartext', severity: 2 }), severity: 2 }));

    const inventory = new Inventory();
    inventory.alert(makeAlert({ flow: monitor, indicator: INDICATOR }));
    inventory.flowEnd(makeFlowRecord(monitor));

    return {
      captures: [
        { name: 'ward3.pcapng', format: 'pcapng', compressed: true, packets: 4000, error: null },
        { name: 'ward4.pcap', format: 'pcap', compressed: false, packets: 1000, error: { offset: 4096, message: 'record length 9999999 exceeds the snap length' } },
      ],
      seconds: 2,
      decode,
      defrag,
      flows,
      reassembly,
      dedup,
      app,
      detect,
      alerts: tally.rows(),
      inventory: inventory.snapshot(),
    };
  }

  it('contains the figures it is given', () => {
    const text = formatSummary(input());
    expect(text).toContain('ward3.pcapng: pcapng (gzip), 4000 packets, complete');
    expect(text).toContain('ward4.pcap: pcap, 1000 packets, damaged at byte 4096: record length 9999999 exceeds the snap length');
    expect(text).toContain('5000 packets, 2500000 bytes in 2.000 s (2500 packets/s, 10.0 Mbit/s)');
    expect(text).toContain('40 (tcp 30, udp 10)');
    expect(text).toContain('ended by timeout 6, closed 21, evicted 3, end of input 10');
    expect(text).toContain('unknown 37, cms8000 2, hl7 1');
    expect(text).toContain('1234567 bytes reassembled; gaps 2, conflicting overlaps 1');
    expect(text).toContain('17 duplicates suppressed of 5000 checked');
    expect(text).toContain('12 fragments, 4 reassembled; timed out 1');
    expect(text).toContain('8 undecodable: ipv4.trunc_pkt 7, tcp.hlen_too_small 1');
    expect(text).toContain('5 (2 suppressed)');
    expect(text).toContain('[1:high] sid 1000001 CMS8000 patient data to the LPD port: 4 × from 10.1.2.3');
    expect(text).toContain('[2:medium] sid 1000007 HL7 with patient identity in cleartext: 1 × from 10.1.2.4');
    expect(text).toContain('Suspected devices (1)');
    expect(text).toMatch(/10\.1\.2\.3: talked to indicator 202\.114\.4\.119/);
    expect(text).not.toContain('\x1b[');
  });

  it('takes the alerts per rule from the inventory when given no tally', () => {
    const inventory = new Inventory();
    const monitor = makeFlow({ client: '10.1.2.3' });
    for (let i = 0; i < 3; i++) inventory.alert(makeAlert({ flow: monitor, indicator: INDICATOR }));
    const text = formatSummary({ ...input(), alerts: undefined, inventory });
    expect(text).toContain('[1:high] sid 1000001 CMS8000 patient data to the LPD port: 3 × from 10.1.2.3');
    expect(text).toContain('Suspected devices (1)');
  });

  it('falls back to the engine\'s counts per rule without a tally or inventory', () => {
    const base = input();
    base.detect.alertsByRule.set(1000001, 4).set(1000007, 1);
    const text = formatSummary({ ...base, alerts: undefined, inventory: undefined });
    expect(text).toContain('  sid 1000001: 4');
    expect(text).toContain('  sid 1000007: 1');
    expect(text).not.toContain('Suspected devices');
  });

  it('lists the most severe rules first', () => {
    const text = formatSummary(input());
    expect(text.indexOf('sid 1000001')).toBeLessThan(text.indexOf('sid 1000007'));
  });

  it('colours only when asked', () => {
    expect(formatSummary(input(), { color: true })).toContain('\x1b[');
  });
});
