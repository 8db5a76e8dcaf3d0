/**
 * The shipped Contec CMS8000 pack against synthetic flows: each rule fires on the traffic it is
 * about, and stays quiet on the hospital traffic that looks like it.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AppEvent } from '../../src/analyzers/events.js';
import { DEFAULT_HOME_NET } from '../../src/detect/address-set.js';
import type { RuleSet } from '../../src/detect/rule-set.js';
import type { Flow } from '../../src/flow/flow.js';
import {
  DetectHarness,
  SHIPPED_RULES_DIR,
  T0,
  TO_CLIENT,
  TO_SERVER,
  cms8000Detected,
  cms8000Summary,
  hl7Message,
  loadRuleSetFrom,
  lpdCommand,
  makeFlow,
  mountCall,
  nfsCall,
  nfsSession,
  notLpd,
  portmapCall,
  removeTempDirs,
  type FlowSpec,
} from '../support/detect-harness.js';

afterEach(removeTempDirs);

let pack: RuleSet;
beforeAll(async () => {
  pack = await loadRuleSetFrom(SHIPPED_RULES_DIR);
});

const MONITOR = '10.1.1.5';
const BACKDOOR = '202.114.4.119';
const EXTERNAL = '198.51.100.7';
const INTERFACE_ENGINE = '10.20.0.10';

/**
 * A conversation: a handshake, the analyzer events (each after a data packet in its direction),
 * a closing exchange, then the flow's end.
 */
function converse(h: DetectHarness, flow: Flow, events: AppEvent[]): void {
  let t = flow.startSec;
  h.packet(flow, TO_SERVER, t);
  h.packet(flow, TO_CLIENT, t);
  for (const event of events) {
    t++;
    h.packet(flow, event.dir, t);
    h.event(flow, event, t);
  }
  h.packet(flow, TO_SERVER, t + 1);
  h.packet(flow, TO_CLIENT, t + 1);
  h.end(flow);
}

/** What the pack says about one conversation: [rule id, severity] per alert. */
function verdict(spec: FlowSpec, events: AppEvent[], ruleSet = pack): Array<[number, number]> {
  const h = new DetectHarness(ruleSet);
  converse(h, makeFlow(spec), events);
  return h.alerts.map((a) => [a.rule.id, a.severity]);
}

const cmsStream = (): AppEvent[] => [cms8000Detected(TO_SERVER), notLpd(TO_SERVER), cms8000Summary(TO_SERVER, 12)];

describe('rules that fire', () => {
  it('1000001 on any traffic with the backdoor address', () => {
    expect(verdict({ client: MONITOR, server: BACKDOOR, serverPort: 443 }, [])).toEqual([[1000001, 1]]);
    expect(verdict({ client: MONITOR, server: BACKDOOR, proto: 'icmp', serverPort: 0, clientPort: 0 }, [])).toEqual([[1000001, 1]]);
  });

  it('1000001 and 1000002 when a monitor streams CMS8000 data to the backdoor address on TCP 515', () => {
    const h = new DetectHarness(pack);
    const flow = makeFlow({ client: MONITOR, server: BACKDOOR, serverPort: 515 });
    converse(h, flow, cmsStream());
    expect(h.alerts.map((a) => [a.rule.id, a.severity])).toEqual([
      [1000001, 1],
      [1000002, 1],
    ]);
    const exfil = h.alerts[1];
    expect(exfil.event).toMatchObject({ type: 'cms8000.detected' });
    expect(exfil.rule.category).toBe('Exfiltration of patient data');
    expect(h.recordOf(flow)).toMatchObject({ alerted: true });
  });

  it('1000002 for HL7 to any external host on TCP 515', () => {
    expect(verdict({ client: MONITOR, server: EXTERNAL, serverPort: 515 }, [hl7Message(TO_SERVER), notLpd(TO_SERVER)])).toEqual([[1000002, 1]]);
  });

  it('1000002 over IPv6', () => {
    expect(verdict({ client: 'fd00::5', server: '2001:db8::7', serverPort: 515 }, [hl7Message(TO_SERVER)])).toEqual([[1000002, 1]]);
  });

  it('1000003 for HL7 to an external host on another port', () => {
    expect(verdict({ client: MONITOR, server: EXTERNAL, serverPort: 2575 }, [hl7Message(TO_SERVER), hl7Message(TO_CLIENT, { messageType: 'ACK' })])).toEqual([[1000003, 2]]);
    expect(verdict({ client: 'fd00::5', server: '2001:db8::7', serverPort: 6661 }, [hl7Message(TO_SERVER)])).toEqual([[1000003, 2]]);
  });

  it('1000003 and 1000001 for HL7 to the CMS8000 HL7 server default', () => {
    expect(verdict({ client: MONITOR, server: '202.114.4.120', serverPort: 511 }, [hl7Message(TO_SERVER)])).toEqual([
      [1000001, 1],
      [1000003, 2],
    ]);
  });

  it('1000004 for a MNT of an external export, over UDP and TCP', () => {
    const mnt = [mountCall(TO_SERVER, 'MNT', '/pm')];
    expect(verdict({ client: MONITOR, server: BACKDOOR, proto: 'udp', serverPort: 20048, appProto: 'mount' }, mnt)).toEqual([
      [1000001, 1],
      [1000004, 1],
    ]);
    expect(verdict({ client: MONITOR, server: EXTERNAL, serverPort: 635, appProto: 'mount' }, mnt)).toEqual([[1000004, 1]]);
  });

  it('1000005 at the end of a portmap or NFS flow to an external host that saw no MNT', () => {
    expect(verdict({ client: MONITOR, server: EXTERNAL, proto: 'udp', serverPort: 111, appProto: 'portmap' }, [portmapCall(TO_SERVER)])).toEqual([[1000005, 2]]);
    expect(verdict({ client: MONITOR, server: EXTERNAL, serverPort: 2049, appProto: 'nfs' }, [nfsCall(TO_SERVER), nfsSession(TO_CLIENT, 4)])).toEqual([[1000005, 2]]);
  });

  it('1000004 and not 1000005 for the backdoor sequence: portmap, MNT, then NFS between the same hosts', () => {
    const h = new DetectHarness(pack);
    const portmap = makeFlow({ client: MONITOR, server: EXTERNAL, proto: 'udp', clientPort: 812, serverPort: 111, appProto: 'portmap', startSec: T0 });
    const mount = makeFlow({ client: MONITOR, server: EXTERNAL, proto: 'udp', clientPort: 813, serverPort: 20048, appProto: 'mount', startSec: T0 + 1 });
    const nfs = makeFlow({ client: MONITOR, server: EXTERNAL, clientPort: 814, serverPort: 2049, appProto: 'nfs', startSec: T0 + 2 });
    h.event(portmap, portmapCall(TO_SERVER));
    h.event(mount, mountCall(TO_SERVER, 'MNT', '/pm'));
    h.event(nfs, nfsCall(TO_SERVER, 'GETATTR', []));
    h.event(nfs, nfsSession(TO_CLIENT, 3));
    for (const flow of [mount, nfs, portmap]) h.end(flow, 'timeout');
    expect(h.alerts.map((a) => [a.rule.id, a.flow])).toEqual([[1000004, mount]]);
  });

  it('1000005 when the MNT was between other hosts', () => {
    const h = new DetectHarness(pack);
    const otherMonitor = makeFlow({ client: '10.1.1.6', server: EXTERNAL, proto: 'udp', serverPort: 20048, appProto: 'mount' });
    const otherServer = makeFlow({ client: MONITOR, server: '198.51.100.8', proto: 'udp', serverPort: 20048, appProto: 'mount' });
    h.event(otherMonitor, mountCall(TO_SERVER, 'MNT', '/pm'));
    h.event(otherServer, mountCall(TO_SERVER, 'MNT', '/pm'));
    const portmap = makeFlow({ client: MONITOR, server: EXTERNAL, proto: 'udp', serverPort: 111, appProto: 'portmap' });
    h.event(portmap, portmapCall(TO_SERVER));
    h.end(portmap);
    expect(h.alerts.map((a) => [a.rule.id, a.flow])).toEqual([
      [1000004, otherMonitor],
      [1000004, otherServer],
      [1000005, portmap],
    ]);
  });

  it('1000006 for a flow that is not LPD on a printer port, at its end', () => {
    expect(verdict({ client: MONITOR, server: EXTERNAL, serverPort: 516 }, [notLpd(TO_SERVER, 'binary')])).toEqual([[1000006, 3]]);
    expect(verdict({ client: MONITOR, server: EXTERNAL, serverPort: 515 }, [notLpd(TO_SERVER, 'text')])).toEqual([[1000006, 3]]);
  });

  it('1000006 stays quiet where 1000002 already told the story', () => {
    expect(verdict({ client: MONITOR, server: EXTERNAL, serverPort: 515 }, cmsStream())).toEqual([[1000002, 1]]);
  });

  it('1000006 never contradicts an analyzer that identified HL7 or CMS8000 on the flow, even with no 1000002', () => {
    // The server sent the HL7 (an inbound push seen the other way round): nothing for 1000002, nor "not LPD".
    for (const appProto of ['hl7', 'cms8000']) {
      expect(verdict({ client: MONITOR, server: EXTERNAL, serverPort: 515, appProto }, [notLpd(TO_SERVER, 'text')]), appProto).toEqual([]);
    }
  });

  it('1000008 once per flow for DICOM associations from HOME_NET to an external host, on any port', () => {
    const association = (dir: 0 | 1): AppEvent => ({
      type: 'dicom.association',
      proto: 'dicom',
      dir,
      callingAeTitle: 'CT_SCANNER',
      calledAeTitle: 'PACS_EXT',
      abstractSyntaxes: ['CT Image Storage'],
      abstractSyntaxUids: ['1.2.840.10008.5.1.4.1.1.2'],
      transferSyntaxes: [],
    });
    for (const serverPort of [104, 11112, 4242]) {
      expect(verdict({ client: MONITOR, server: EXTERNAL, serverPort, appProto: 'dicom' }, [association(TO_SERVER), association(TO_SERVER)])).toEqual([[1000008, 2]]);
    }
    // Internal PACS, and an outside modality pushing images in: no alert.
    expect(verdict({ client: MONITOR, server: '10.2.2.2', serverPort: 104, appProto: 'dicom' }, [association(TO_SERVER)])).toEqual([]);
    expect(verdict({ client: EXTERNAL, server: MONITOR, serverPort: 104, appProto: 'dicom' }, [association(TO_SERVER)])).toEqual([]);
  });
});

describe('hospital traffic the pack stays quiet on', () => {
  it.each([
    ['HL7', [hl7Message(TO_SERVER), notLpd(TO_SERVER)]],
    ['CMS8000', cmsStream()],
  ])('internal TCP 515 traffic carrying %s (both ends in HOME_NET)', (_name, events) => {
    expect(verdict({ client: MONITOR, server: '10.2.2.2', serverPort: 515 }, events)).toEqual([]);
    expect(verdict({ client: 'fd00::5', server: 'fd00::9', serverPort: 515 }, events)).toEqual([]);
  });

  it('real LPD printing to an external print service', () => {
    const job = [lpdCommand(TO_SERVER, 'receive-job', 2), lpdCommand(TO_SERVER, 'receive-control-file', 2), lpdCommand(TO_SERVER, 'receive-data-file', 3)];
    expect(verdict({ client: MONITOR, clientPort: 721, server: EXTERNAL, serverPort: 515, appProto: 'lpd' }, job)).toEqual([]);
  });

  it("HL7 to the hospital's interface engine", () => {
    const feed = [hl7Message(TO_SERVER), hl7Message(TO_CLIENT, { messageType: 'ACK', segments: ['MSH', 'MSA'], identitySegments: [] })];
    expect(verdict({ client: MONITOR, server: INTERFACE_ENGINE, serverPort: 2575, appProto: 'hl7' }, feed)).toEqual([]);
    expect(verdict({ client: MONITOR, server: INTERFACE_ENGINE, serverPort: 515, appProto: 'hl7' }, feed)).toEqual([]);
  });

  it.each(['202.114.3.255', '202.114.5.0', '202.114.5.119'])('traffic to %s, just outside 202.114.4.0/24', (server) => {
    expect(verdict({ client: MONITOR, server, serverPort: 443 }, [])).toEqual([]);
  });

  it('NFS to an internal filer: portmap, MNT and NFS', () => {
    const filer = '10.30.0.2';
    expect(verdict({ client: MONITOR, server: filer, proto: 'udp', serverPort: 111, appProto: 'portmap' }, [portmapCall(TO_SERVER)])).toEqual([]);
    expect(verdict({ client: MONITOR, server: filer, proto: 'udp', serverPort: 20048, appProto: 'mount' }, [mountCall(TO_SERVER, 'MNT', '/export/images')])).toEqual([]);
    expect(verdict({ client: MONITOR, server: filer, serverPort: 2049, appProto: 'nfs' }, [nfsCall(TO_SERVER), nfsSession(TO_CLIENT, 4)])).toEqual([]);
  });

  it('a central station given the backdoor address inside HOME_NET raises only 1000001, with the note', async () => {
    const ruleSet = await loadRuleSetFrom(SHIPPED_RULES_DIR, { homeNet: [...DEFAULT_HOME_NET, '202.114.4.0/24'] });
    const h = new DetectHarness(ruleSet);
    converse(h, makeFlow({ client: MONITOR, server: BACKDOOR, serverPort: 515 }), [...cmsStream(), hl7Message(TO_SERVER)]);
    expect(h.alerts.map((a) => a.rule.id)).toEqual([1000001]);
    expect(h.alerts[0].note).toMatch(/^The indicator address is inside HOME_NET\./);
  });
});
