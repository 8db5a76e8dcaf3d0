/**
 * Writes the sample captures in pcaps/: one per link type and encapsulation the decoder handles,
 * each carrying the same small set of hospital-network TCP/UDP/ICMP traffic over IPv4 and IPv6,
 * then the detection scenarios of tools/scenarios/. Beside each capture goes
 * `<capture>.expected.json`, the alerts the shipped rules must raise on it.
 * Deterministic: fixed timestamps and fixed payloads give the same bytes on every run.
 *
 *   npx tsx tools/make-pcaps.ts [outdir]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AF,
  arp,
  authHeader,
  Clock,
  destinationOptions,
  dnsQuery,
  dnsResponse,
  erspanII,
  erspanIII,
  ethernet,
  fragmentHeader,
  fragmentIPv4,
  fragmentIPv6,
  gre,
  gzip,
  hopByHop,
  icmpEcho,
  icmpv6Echo,
  ieee8023,
  ipv4,
  ipv4Fragment,
  ipv4Option,
  ipv6,
  ipv6Fragment,
  ipv6Option,
  isIPv6,
  llc,
  LINKTYPE,
  macFor,
  mllp,
  nullHeader,
  pcapFile,
  PcapngWriter,
  routingHeader,
  SLL_PACKET_TYPE,
  sll,
  sll2,
  snap,
  TcpConversation,
  tcp,
  tcpOption,
  udp,
  VXLAN_PORT,
  vxlan,
  type CaptureRecord,
  type Layer,
} from './craft/index.js';
import { evasionScenarios } from './scenarios/evasions.js';
import { flowScenarios } from './scenarios/flows.js';
import { detectionScenarios, expectationJson, type Expectation } from './scenarios/index.js';

export interface Scenario {
  file: string;
  description: string;
  build(): Buffer;
  /** The alerts the shipped rules must raise on the capture, and why. */
  expected?: Expectation;
}

/** 2025-01-30 10:00:00 UTC: every sample starts here. */
export const EPOCH = Date.UTC(2025, 0, 30, 10, 0, 0) / 1000;

/** Hosts of the sample hospital network. */
export const HOSTS = {
  monitor: '10.20.30.41', // CMS8000 bedside monitor
  central: '10.20.30.10', // central monitoring station
  hl7Engine: '10.1.5.20',
  dns: '10.1.1.53',
  workstation: '192.168.10.25',
  pacs: '172.16.8.5',
  backdoor: '202.114.4.119', // the address the CMS8000 backdoor talks to
  monitor6: 'fd00:10:20:30::41',
  central6: 'fd00:10:20:30::10',
  hl7Engine6: 'fd00:10:1:5::20',
  external6: '2001:db8:202:114::119',
} as const;

const GATEWAY_MAC = '00:1b:54:0a:14:01';

function hostMac(ip: string): string {
  const internal = isIPv6(ip) ? ip.startsWith('fd') : /^(10|172\.16|192\.168)\./.test(ip);
  return internal ? macFor(ip) : GATEWAY_MAC;
}

/** One IP packet of the traffic set and who sent it, for the link layer to frame. */
export interface Frame {
  packet: Layer;
  srcMac: string;
  dstMac: string;
  /** Sent by the side that opened the exchange. */
  outbound: boolean;
}

/** Puts one IP packet into a link layer. */
export type Framer = (frame: Frame) => Uint8Array;

const HL7_ORU = [
  'MSH|^~\\&|CMS8000|WARD3|HIS|GENERAL|20250130100001||ORU^R01|MSG00017|P|2.3',
  'PID|1||SYNTH0001^^^WARD3||TEST^SAMPLE',
  'OBX|1|NM|8867-4^HEART RATE^LN||72|/min|||||F',
].join('\r') + '\r';

const HL7_ACK = ['MSH|^~\\&|HIS|GENERAL|CMS8000|WARD3|20250130100001||ACK^R01|ACK00017|P|2.3', 'MSA|AA|MSG00017'].join('\r') + '\r';

export interface TrafficOptions {
  ipv4?: boolean;
  ipv6?: boolean;
  /** Repeats of the set in one capture need their own ports, ids and sequence numbers. */
  variant?: number;
}

/**
 * The traffic every link sample carries: an LPD session from the monitor to the backdoor
 * address, a DNS lookup and a ping over IPv4; an HL7 (MLLP) session, a syslog message and a
 * ping over IPv6.
 */
export function hospitalTraffic(clock: Clock, framer: Framer, options: TrafficOptions = {}): CaptureRecord[] {
  const records: CaptureRecord[] = [];
  const v = options.variant ?? 0;
  const frameOf = (packet: Layer, src: string, dst: string, outbound: boolean): Uint8Array =>
    framer({ packet, srcMac: hostMac(src), dstMac: hostMac(dst), outbound });
  const single = (packet: Layer, src: string, dst: string, outbound: boolean, gapMicros: number): void => {
    const t = clock.advance(gapMicros);
    records.push({ ...t, data: frameOf(packet, src, dst, outbound) });
  };
  const tcpSession = (client: string, server: string, sport: number, dport: number, talk: (c: TcpConversation) => void): void => {
    const conv = new TcpConversation({
      client: { ip: client, port: sport + 16 * v },
      server: { ip: server, port: dport },
      clientIsn: 0x3a1f0000 + 0x01000000 * v,
      serverIsn: 0x7c2e0000 + 0x01000000 * v,
      clock,
      link: (packet, from) =>
        from === 'client' ? frameOf(packet, client, server, true) : frameOf(packet, server, client, false),
    });
    conv.handshake();
    talk(conv);
    conv.close('client');
    records.push(...conv.records);
  };

  if (options.ipv4 ?? true) {
    const { monitor, backdoor, dns, workstation } = HOSTS;
    tcpSession(monitor, backdoor, 49152, 515, (c) => c.send('client', '\x02pm\n').send('server', '\x00'));
    const query = { id: 0x2b1e + v, name: 'central.ward3.hospital.example' };
    single(ipv4({ src: monitor, dst: dns, id: 0x0101 }, udp({ sport: 53124 + v, dport: 53 }, dnsQuery(query))), monitor, dns, true, 2000);
    single(ipv4({ src: dns, dst: monitor, id: 0x5501 }, udp({ sport: 53, dport: 53124 + v }, dnsResponse({ ...query, address: HOSTS.central }))), dns, monitor, false, 800);
    const ping = Buffer.from('wardwatch-echo-0123456789abcdef');
    single(ipv4({ src: workstation, dst: monitor, id: 0x0c01 }, icmpEcho({ id: 0x1d2e, seq: 1 + v }, ping)), workstation, monitor, true, 3000);
    single(ipv4({ src: monitor, dst: workstation, id: 0x4b01 }, icmpEcho({ id: 0x1d2e, seq: 1 + v, reply: true }, ping)), monitor, workstation, false, 400);
  }
  if (options.ipv6 ?? true) {
    const { monitor6, central6, hl7Engine6 } = HOSTS;
    tcpSession(monitor6, hl7Engine6, 49160, 2575, (c) => c.send('client', mllp(HL7_ORU)).send('server', mllp(HL7_ACK)));
    const syslog = '<134>Jan 30 10:00:02 cms8000 monitor[212]: alarm limits loaded';
    single(ipv6({ src: monitor6, dst: central6 }, udp({ sport: 514, dport: 514 }, syslog)), monitor6, central6, true, 2500);
    const ping = Buffer.from('wardwatch-echo6-0123456789abcdef');
    single(ipv6({ src: central6, dst: monitor6 }, icmpv6Echo({ id: 0x6a01, seq: 7 + v }, ping)), central6, monitor6, true, 3000);
    single(ipv6({ src: monitor6, dst: central6 }, icmpv6Echo({ id: 0x6a01, seq: 7 + v, reply: true }, ping)), monitor6, central6, false, 350);
  }
  return records;
}

const onEthernet: Framer = (f) => ethernet({ src: f.srcMac, dst: f.dstMac }, f.packet);
const rawIp: Framer = (f) => f.packet;

function linkSample(linkType: number, framer: Framer, traffic: TrafficOptions = {}): Buffer {
  return pcapFile({ linkType }, hospitalTraffic(new Clock(EPOCH), framer, traffic));
}

function ethernetCapture(): Buffer {
  const clock = new Clock(EPOCH);
  const records: CaptureRecord[] = [];
  const monitorMac = macFor(HOSTS.monitor);
  const who = arp({ op: 1, senderMac: monitorMac, senderIp: HOSTS.monitor, targetIp: '10.20.30.1' });
  records.push({ ...clock.advance(100), data: ethernet({ src: monitorMac, dst: 'ff:ff:ff:ff:ff:ff', padTo: 60 }, who) });
  const is = arp({ op: 2, senderMac: GATEWAY_MAC, senderIp: '10.20.30.1', targetMac: monitorMac, targetIp: HOSTS.monitor });
  records.push({ ...clock.advance(300), data: ethernet({ src: GATEWAY_MAC, dst: monitorMac, padTo: 60 }, is) });
  // Received frames shorter than the Ethernet minimum arrive padded; the IP length says where data ends.
  records.push(...hospitalTraffic(clock, (f) => ethernet({ src: f.srcMac, dst: f.dstMac, padTo: 60 }, f.packet)));
  return pcapFile({ linkType: LINKTYPE.ETHERNET }, records);
}

/** A configuration BPDU from the ward's access switch (802.3 + LLC, DSAP/SSAP 0x42). */
function stpBpdu(bridgeMac: string): Buffer {
  const b = Buffer.alloc(35);
  b[3] = 0x00; // configuration BPDU (protocol 0, version 0, type 0)
  const bridge = Buffer.from(bridgeMac.split(':').map((h) => parseInt(h, 16)));
  b.writeUInt16BE(0x8000, 5);
  bridge.copy(b, 7); // root id
  b.writeUInt32BE(0, 13); // root path cost
  b.writeUInt16BE(0x8000, 17);
  bridge.copy(b, 19); // bridge id
  b.writeUInt16BE(0x8001, 25); // port id
  b.writeUInt16BE(0, 27); // message age
  b.writeUInt16BE(20 * 256, 29); // max age
  b.writeUInt16BE(2 * 256, 31); // hello time
  b.writeUInt16BE(15 * 256, 33); // forward delay
  return b;
}

function llcCapture(): Buffer {
  const clock = new Clock(EPOCH);
  const switchMac = '00:1b:54:0a:14:fe';
  const records: CaptureRecord[] = [
    { ...clock.advance(100), data: ieee8023({ src: switchMac, dst: '01:80:c2:00:00:00', padTo: 60 }, llc({ dsap: 0x42, ssap: 0x42 }, stpBpdu(switchMac))) },
  ];
  records.push(...hospitalTraffic(clock, (f) => ieee8023({ src: f.srcMac, dst: f.dstMac }, snap({}, f.packet))));
  return pcapFile({ linkType: LINKTYPE.ETHERNET }, records);
}

function vlanCapture(): Buffer {
  const clock = new Clock(EPOCH);
  const records = hospitalTraffic(clock, (f) => ethernet({ src: f.srcMac, dst: f.dstMac, vlans: [{ vid: 30, pcp: 5 }] }, f.packet));
  // The same pings again through a provider bridge (802.1ad outer tag) and an old 0x9100 QinQ trunk.
  const stacks = [
    [{ tpid: 0x88a8, vid: 100 }, { vid: 30 }],
    [{ tpid: 0x9100, vid: 200 }, { vid: 30 }],
  ];
  stacks.forEach((vlans, i) => {
    const again = hospitalTraffic(clock, (f) => ethernet({ src: f.srcMac, dst: f.dstMac, vlans }, f.packet), { variant: i + 1 });
    records.push(...again.filter((r) => isPing(r.data)));
  });
  return pcapFile({ linkType: LINKTYPE.ETHERNET }, records);
}

/** True for ICMP / ICMPv6 echo frames of the traffic set (found by their payload marker). */
function isPing(frame: Uint8Array): boolean {
  return Buffer.from(frame).includes('wardwatch-echo');
}

function sllCapture(version: 1 | 2): Buffer {
  const framer: Framer = (f) => {
    const opts = {
      packetType: f.outbound ? SLL_PACKET_TYPE.OUTGOING : SLL_PACKET_TYPE.HOST,
      address: f.srcMac,
    };
    return version === 1 ? sll(opts, f.packet) : sll2({ ...opts, interfaceIndex: 3 }, f.packet);
  };
  return linkSample(version === 1 ? LINKTYPE.LINUX_SLL : LINKTYPE.LINUX_SLL2, framer);
}

function nullCapture(linkType: number, byteOrder: 'le' | 'be'): Buffer {
  // BSDs disagree on AF_INET6: rotate through NetBSD/OpenBSD, FreeBSD and macOS values.
  const families = [AF.INET6_BSD, AF.INET6_FREEBSD, AF.INET6_DARWIN];
  let v6 = 0;
  const framer: Framer = (f) => {
    const family = f.packet.etherType === 0x86dd ? families[v6++ % families.length] : AF.INET;
    return nullHeader({ family, byteOrder }, f.packet);
  };
  return linkSample(linkType, framer);
}

/** GRE between two site routers: IPv4 and IPv6 inside GRE, then whole Ethernet frames (0x6558). */
function greCapture(): Buffer {
  const clock = new Clock(EPOCH);
  let id = 0x3000;
  let n = 0;
  const variants = [{}, { key: 0x0a141e29 }, { checksum: true, key: 0x0a141e29, sequence: 0 }];
  const outer = (inner: Layer): Layer => {
    const variant = variants[n % variants.length];
    const g = gre('sequence' in variant ? { ...variant, sequence: n } : variant, inner);
    n++;
    return ipv4({ src: '10.255.0.1', dst: '10.255.0.2', id: id++, ttl: 254 }, g);
  };
  const routerA = '00:1b:54:ff:00:01';
  const routerB = '00:1b:54:ff:00:02';
  const records = hospitalTraffic(clock, (f) => ethernet({ src: routerA, dst: routerB }, outer(f.packet)));
  records.push(
    ...hospitalTraffic(clock, (f) => ethernet({ src: routerA, dst: routerB }, outer(ethernet({ src: f.srcMac, dst: f.dstMac }, f.packet))), {
      variant: 1,
    }),
  );
  return pcapFile({ linkType: LINKTYPE.ETHERNET }, records);
}

/** A switch mirroring the ward VLAN to a collector: ERSPAN type II, then type III. */
function erspanCapture(): Buffer {
  const clock = new Clock(EPOCH);
  let seq = 0;
  let id = 0x2200;
  const switchMac = '00:1b:54:ee:00:01';
  const collectorMac = '00:1b:54:ee:00:64';
  const outer = (erspan: Layer): Uint8Array =>
    ethernet({ src: switchMac, dst: collectorMac }, ipv4({ src: '10.255.1.1', dst: '10.255.1.100', id: id++, ttl: 255 }, gre({ sequence: seq++ }, erspan)));
  const mirrored = (f: Frame): Layer => ethernet({ src: f.srcMac, dst: f.dstMac }, f.packet);
  const records = hospitalTraffic(clock, (f) => outer(erspanII({ sessionId: 7, vlan: 30, index: 12 }, mirrored(f))));
  let stamp = 0x12345600;
  records.push(
    ...hospitalTraffic(clock, (f) =>
      outer(erspanIII({ sessionId: 9, vlan: 30, timestamp: (stamp += 37), hardwareId: 3, granularity: 1 }, mirrored(f))),
    { variant: 1 }),
  );
  return pcapFile({ linkType: LINKTYPE.ETHERNET }, records);
}

function vxlanCapture(): Buffer {
  const clock = new Clock(EPOCH);
  let id = 0x5100;
  const records = hospitalTraffic(clock, (f) => {
    const inner = ethernet({ src: f.srcMac, dst: f.dstMac }, f.packet);
    // The source port is the VTEP's hash of the inner flow; VXLAN over IPv4 leaves the UDP checksum at zero.
    const sport = 49152 + (f.packet.readUInt16BE(f.packet.length - 2) % 16384);
    const outerUdp = udp({ sport, dport: VXLAN_PORT, checksum: 0 }, vxlan({ vni: 5030 }, inner));
    return ethernet({ src: '00:1b:54:cc:00:01', dst: '00:1b:54:cc:00:02' }, ipv4({ src: '172.16.100.1', dst: '172.16.100.2', id: id++, df: true }, outerUdp));
  });
  return pcapFile({ linkType: LINKTYPE.ETHERNET }, records);
}

/** A syslog message too big for one packet. */
function longSyslog(tag: string, bytes: number): string {
  let text = `<134>Jan 30 10:00:05 cms8000 ${tag}[212]: trend dump`;
  for (let i = 0; text.length < bytes; i++) text += ` hr=${60 + (i % 40)} spo2=${90 + (i % 10)} t=${i}`;
  return text.slice(0, bytes);
}

function fragmentsCapture(): Buffer {
  const clock = new Clock(EPOCH);
  const records: CaptureRecord[] = [];
  const { monitor, central, monitor6, central6 } = HOSTS;
  const push = (packets: Layer[]): void => {
    for (const p of packets) {
      const v6 = p[0] >> 4 === 6;
      records.push({ ...clock.advance(120), data: ethernet({ src: macFor(v6 ? monitor6 : monitor), dst: macFor(v6 ? central6 : central) }, p) });
    }
  };
  const v4 = (id: number, tag: string, size: number, options?: Uint8Array): Layer =>
    ipv4({ src: monitor, dst: central, id, options }, udp({ sport: 514, dport: 514 }, longSyslog(tag, size)));
  const v6 = (tag: string, size: number): Layer => ipv6({ src: monitor6, dst: central6 }, udp({ sport: 514, dport: 514 }, longSyslog(tag, size)));

  push(fragmentIPv4(v4(0x7001, 'in-order', 3000), 1480)); // in order
  // Router alert is copied into every fragment, record route only into the first.
  const options = Buffer.concat([ipv4Option.routerAlert(), ipv4Option.recordRoute(3)]);
  const shuffled = fragmentIPv4(v4(0x7002, 'out-of-order', 4000, options), 1456);
  push([shuffled[2], shuffled[0], shuffled[1]]); // out of order
  const missing = v4(0x7003, 'incomplete', 3000);
  push([ipv4Fragment(missing, { offset: 0, length: 1480 }), ipv4Fragment(missing, { offset: 2960 })]); // middle never sent
  push(fragmentIPv6(v6('in-order-v6', 3000), 1448, 0x0000a001)); // in order
  const reversed = fragmentIPv6(v6('reversed-v6', 2500), 1232, 0x0000a002);
  push(reversed.reverse()); // last first
  const lost = v6('incomplete-v6', 2000);
  push([ipv6Fragment(lost, { offset: 1232 }, 0x0000a003)]); // first fragment never sent
  return pcapFile({ linkType: LINKTYPE.ETHERNET }, records);
}

function extensionHeadersCapture(): Buffer {
  const clock = new Clock(EPOCH);
  const { monitor6, central6, hl7Engine6 } = HOSTS;
  const records: CaptureRecord[] = [];
  const push = (packet: Layer): void => {
    records.push({ ...clock.advance(500), data: ethernet({ src: macFor(monitor6), dst: macFor(central6) }, packet) });
  };
  const ping = (seq: number) => icmpv6Echo({ id: 0x6b01, seq }, 'wardwatch-ext-headers');
  const syslog = (text: string) => udp({ sport: 514, dport: 514 }, `<134>Jan 30 10:00:07 cms8000 monitor[212]: ${text}`);

  push(ipv6({ src: monitor6, dst: central6, hopLimit: 1, extensions: [hopByHop(ipv6Option.routerAlert(0))] }, ping(1)));
  push(ipv6({ src: monitor6, dst: central6, extensions: [destinationOptions()] }, syslog('destination options')));
  // Mobile IPv6 type 2 routing header: the home address is the final destination.
  push(ipv6({ src: monitor6, dst: central6, extensions: [routingHeader({ type: 2, addresses: [HOSTS.external6] })] }, ping(2)));
  push(ipv6({ src: monitor6, dst: central6, extensions: [fragmentHeader({ id: 0xb001 })] }, syslog('atomic fragment')));
  push(
    ipv6(
      { src: monitor6, dst: hl7Engine6, extensions: [authHeader({ spi: 0x1000, seq: 1 })] },
      tcp({ sport: 49170, dport: 2575, seq: 0x11110000, flags: 'S', options: [tcpOption.mss(1440), tcpOption.sackPermitted()] }),
    ),
  );
  push(
    ipv6(
      {
        src: monitor6,
        dst: central6,
        extensions: [hopByHop(), destinationOptions(), routingHeader({ type: 2, addresses: [HOSTS.external6] }), authHeader({ spi: 0x1001, seq: 1 }), destinationOptions()],
      },
      syslog('long chain'),
    ),
  );
  // A fragmented datagram whose fragments keep a hop-by-hop header in front.
  const big = ipv6({ src: monitor6, dst: central6, extensions: [hopByHop()] }, udp({ sport: 514, dport: 514 }, longSyslog('hbh-fragments', 2000)));
  for (const f of fragmentIPv6(big, 1232, 0x0000b002)) push(f);
  return pcapFile({ linkType: LINKTYPE.ETHERNET }, records);
}

/** One pcapng file, one section, four interfaces with different link types and clocks. */
function mixedPcapng(): Buffer {
  const w = new PcapngWriter();
  w.section({ application: 'wardwatch make-pcaps' });
  const eth = w.addInterface({ linkType: LINKTYPE.ETHERNET, name: 'eth0' });
  const raw = w.addInterface({ linkType: LINKTYPE.RAW, name: 'tun0', tsresol: { base: 10, exponent: 9 } });
  const cooked = w.addInterface({ linkType: LINKTYPE.LINUX_SLL, name: 'any', tsresol: { base: 2, exponent: 20 } });
  const loop = w.addInterface({ linkType: LINKTYPE.NULL, name: 'lo0', snapLen: 0 });
  const clock = new Clock(EPOCH);
  const ethRecords = hospitalTraffic(clock, onEthernet, { ipv6: false });
  const rawRecords = hospitalTraffic(new Clock(EPOCH, 333), rawIp, { ipv4: false });
  const sllRecords = hospitalTraffic(new Clock(EPOCH, 777_000), (f) => sll({ address: f.srcMac }, f.packet), { ipv6: false, variant: 1 });
  const loopRecords = hospitalTraffic(new Clock(EPOCH + 1), (f) => nullHeader({ byteOrder: 'le' }, f.packet), { ipv4: false, variant: 1 });
  const all = [
    ...ethRecords.map((r) => ({ r, iface: eth })),
    ...rawRecords.map((r) => ({ r, iface: raw })),
    ...sllRecords.map((r) => ({ r, iface: cooked })),
    ...loopRecords.map((r) => ({ r, iface: loop })),
  ].sort((a, b) => a.r.sec - b.r.sec || a.r.nsec - b.r.nsec || a.iface - b.iface);
  for (const { r, iface } of all) w.enhanced(iface, r);
  return w.toBuffer();
}

/**
 * Three pcapng sections: version 1, a big-endian version 2 (a format this reader does not know,
 * so its packets must not be read as version 1), version 1 again; each with the usual traffic
 * from other source ports.
 */
function unknownVersionSection(): Buffer {
  const w = new PcapngWriter();
  [1, 2, 1].forEach((majorVersion, variant) => {
    w.section({ byteOrder: majorVersion === 1 ? 'le' : 'be', majorVersion, application: 'wardwatch make-pcaps' });
    const eth = w.addInterface({ linkType: LINKTYPE.ETHERNET, name: 'eth0' });
    for (const r of hospitalTraffic(new Clock(EPOCH + 10 * variant), onEthernet, { ipv6: false, variant })) w.enhanced(eth, r);
  });
  return w.toBuffer();
}

function nsecBigEndian(): Buffer {
  const clock = new Clock(EPOCH, 123_456_789);
  const records = hospitalTraffic(clock, onEthernet).map((r, i) => ({ ...r, nsec: r.nsec + i * 7 }));
  return pcapFile({ linkType: LINKTYPE.ETHERNET, byteOrder: 'be', nanosecond: true }, records);
}

function snaplenCut(): Buffer {
  return pcapFile({ linkType: LINKTYPE.ETHERNET, snapLen: 96 }, hospitalTraffic(new Clock(EPOCH), onEthernet));
}

const linkSamples: Scenario[] = [
  { file: 'link-ethernet.pcap', description: 'Ethernet II (LINKTYPE 1), ARP, frames padded to 60 bytes', build: ethernetCapture },
  { file: 'link-8023-llc.pcap', description: '802.3 length frames: an STP BPDU over LLC, IP over LLC/SNAP', build: llcCapture },
  { file: 'link-vlan.pcap', description: '802.1Q VLAN 30; pings again under 802.1ad+802.1Q and 0x9100+802.1Q stacks', build: vlanCapture },
  { file: 'link-sll.pcap', description: 'Linux cooked v1 (LINKTYPE 113), outgoing and incoming packet types', build: () => sllCapture(1) },
  { file: 'link-sll2.pcap', description: 'Linux cooked v2 (LINKTYPE 276), interface index 3', build: () => sllCapture(2) },
  { file: 'link-raw.pcap', description: 'Raw IP (LINKTYPE 101), IPv4 and IPv6', build: () => linkSample(LINKTYPE.RAW, rawIp) },
  { file: 'link-ipv4.pcap', description: 'LINKTYPE_IPV4 (228), IPv4 only', build: () => linkSample(LINKTYPE.IPV4, rawIp, { ipv6: false }) },
  { file: 'link-ipv6.pcap', description: 'LINKTYPE_IPV6 (229), IPv6 only', build: () => linkSample(LINKTYPE.IPV6, rawIp, { ipv4: false }) },
  { file: 'link-null.pcap', description: 'BSD null (LINKTYPE 0), little-endian family; AF_INET6 as 24, 28 and 30', build: () => nullCapture(LINKTYPE.NULL, 'le') },
  { file: 'link-loop.pcap', description: 'OpenBSD loopback (LINKTYPE 108), network-order family; AF_INET6 as 24, 28 and 30', build: () => nullCapture(LINKTYPE.LOOP, 'be') },
  { file: 'tunnel-gre.pcap', description: 'GRE: IPv4/IPv6 inside (plain, key, checksum+key+sequence), then Ethernet inside (0x6558)', build: greCapture },
  { file: 'tunnel-erspan.pcap', description: 'ERSPAN type II (GRE 0x88be with sequence), then type III (GRE 0x22eb)', build: erspanCapture },
  { file: 'tunnel-vxlan.pcap', description: 'VXLAN (UDP 4789, VNI 5030) carrying Ethernet frames', build: vxlanCapture },
  { file: 'ip-fragments.pcap', description: 'Fragmented UDP (syslog): IPv4 in order, out of order, incomplete; IPv6 in order, reversed, incomplete', build: fragmentsCapture },
  { file: 'ipv6-ext-headers.pcap', description: 'IPv6 hop-by-hop, destination options, routing type 2, atomic fragment, AH, a long chain, fragments after hop-by-hop', build: extensionHeadersCapture },
  { file: 'mixed-linktypes.pcapng', description: 'pcapng, 4 interfaces: Ethernet (µs), raw IP (if_tsresol 10^-9), SLL (2^-20), null', build: mixedPcapng },
  { file: 'pcapng-unknown-version.pcapng', description: 'pcapng: a version 1 section, a big-endian version 2 section, a version 1 section', build: unknownVersionSection },
  { file: 'nsec-bigendian.pcap', description: 'Big-endian pcap with the nanosecond magic, sub-microsecond timestamps', build: nsecBigEndian },
  { file: 'compressed.pcap.gz', description: 'gzip of link-ethernet.pcap', build: () => gzip(ethernetCapture()) },
  { file: 'snaplen-cut.pcap', description: 'Snap length 96: long frames cut, original length kept', build: snaplenCut },
];

const ONE_BACKDOOR_FLOW: Expectation = {
  alerts: { '1000001': 1 },
  why: `one TCP flow with the indicator ${HOSTS.backdoor} (the LPD session): 1000001 once; it speaks real LPD, so no printer-port rule fires; everything else stays inside HOME_NET`,
};

const TWO_BACKDOOR_FLOWS: Expectation = {
  alerts: { '1000001': 2 },
  why: `the traffic set twice with different source ports: two TCP flows with the indicator ${HOSTS.backdoor}, 1000001 once each`,
};

/** What the shipped rules must raise on the link-type samples. */
const LINK_SAMPLE_EXPECTATIONS: Record<string, Expectation> = {
  'link-ethernet.pcap': ONE_BACKDOOR_FLOW,
  'link-8023-llc.pcap': ONE_BACKDOOR_FLOW,
  'link-vlan.pcap': { ...ONE_BACKDOOR_FLOW, why: `${ONE_BACKDOOR_FLOW.why}; the repeats under other VLAN stacks are pings only` },
  'link-sll.pcap': ONE_BACKDOOR_FLOW,
  'link-sll2.pcap': ONE_BACKDOOR_FLOW,
  'link-raw.pcap': ONE_BACKDOOR_FLOW,
  'link-ipv4.pcap': ONE_BACKDOOR_FLOW,
  'link-ipv6.pcap': { alerts: {}, why: 'IPv6 part only: HL7 to the interface engine, syslog and a ping, all inside HOME_NET (fc00::/7)' },
  'link-null.pcap': ONE_BACKDOOR_FLOW,
  'link-loop.pcap': ONE_BACKDOOR_FLOW,
  'tunnel-gre.pcap': TWO_BACKDOOR_FLOWS,
  'tunnel-erspan.pcap': TWO_BACKDOOR_FLOWS,
  'tunnel-vxlan.pcap': ONE_BACKDOOR_FLOW,
  'ip-fragments.pcap': { alerts: {}, why: 'syslog between two HOME_NET hosts' },
  'ipv6-ext-headers.pcap': { alerts: {}, why: 'pings, syslog and a SYN between HOME_NET hosts; nothing on an HL7, printer or RPC rule' },
  'mixed-linktypes.pcapng': { ...TWO_BACKDOOR_FLOWS, why: `the IPv4 set on the Ethernet and the SLL interfaces, with different source ports: two flows with ${HOSTS.backdoor}, 1000001 once each` },
  'pcapng-unknown-version.pcapng': {
    ...TWO_BACKDOOR_FLOWS,
    why: `the IPv4 set in each of the two version 1 sections, with different source ports: two flows with ${HOSTS.backdoor}, 1000001 once each; the version 2 section between them is skipped with a warning`,
    warnings: ['pcapng section of version 2.0 skipped'],
  },
  'nsec-bigendian.pcap': ONE_BACKDOOR_FLOW,
  'compressed.pcap.gz': ONE_BACKDOOR_FLOW,
  'snaplen-cut.pcap': { ...ONE_BACKDOOR_FLOW, why: `${ONE_BACKDOOR_FLOW.why}; the frames the snap length cuts (DNS answer, HL7, syslog) belong to internal exchanges` },
};

export const scenarios: Scenario[] = [...linkSamples.map((s) => ({ ...s, expected: LINK_SAMPLE_EXPECTATIONS[s.file] })), ...detectionScenarios, ...flowScenarios, ...evasionScenarios];

/** Text for a Markdown table cell: a literal | would end the cell. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

function alertsText(e: Expectation | undefined): string {
  if (e === undefined) return '(not stated)';
  const entries = Object.entries(e.alerts);
  return entries.length === 0 ? 'none' : entries.map(([id, n]) => `${id} ×${n}`).join(', ');
}

export function readme(): string {
  const rows = linkSamples.map((s) => `| \`${s.file}\` | ${cell(s.description)} |`);
  const detectionRows = detectionScenarios.map((s) => `| \`${s.file}\` | ${cell(s.description)} |`);
  const flowRows = flowScenarios.map((s) => `| \`${s.file}\` | ${cell(s.description)} |`);
  const evasionRows = evasionScenarios.map((s) => `| \`${s.file}\` | ${cell(s.description)} |`);
  const alertRows = scenarios.map((s) => `| \`${s.file}\` | ${alertsText(s.expected)} | ${cell(s.expected?.why ?? '')} |`);
  return [
    '# Sample captures',
    '',
    'Written by `npx tsx tools/make-pcaps.ts` (do not edit by hand; change the scenario and run it again).',
    'Every sample starts at 2025-01-30 10:00:00 UTC and, unless noted, carries the same traffic: an LPD',
    `session from a CMS8000 monitor (${HOSTS.monitor}) to ${HOSTS.backdoor}:515, a DNS lookup and a ping`,
    `over IPv4; an HL7 (MLLP) session to ${HOSTS.hl7Engine6} port 2575, a syslog message and a ping over IPv6.`,
    'Patient fields in the HL7 message are synthetic.',
    '',
    '| File | What it holds |',
    '| --- | --- |',
    ...rows,
    '',
    '## Detection scenarios',
    '',
    'The Contec CMS8000 backdoor\'s traffic and look-alikes that must stay quiet, on 2025-01-30, as a capture',
    'on the hospital\'s mirror port sees it: round trips of 0.35 ms inside, 38 ms to the documentation ranges',
    '(198.51.100.0/24, 203.0.113.0/24) and 232 ms to 202.114.4.0/24. TCP sessions have full handshakes, server',
    'acknowledgements and FINs. Patient data (DOE^JANE, MRN123456, born 1970-01-01) is fake.',
    '',
    '| File | What it holds |',
    '| --- | --- |',
    ...detectionRows,
    '',
    '## Flow-layer scenarios',
    '',
    'TCP as a mirror port really sees it, for the flow table and stream reassembly: reordering,',
    'retransmission, overlap, a lost segment, mid-stream pickup, sequence numbers wrapping, FIN, RST and a',
    'reused port, SPAN duplicates, flows ending by time-out during the capture. All traffic stays inside',
    'HOME_NET, so no rule fires; `test/e2e/flow-counters.test.ts` checks the counters each must produce.',
    'Patient data (DOE^JANE, MRN123456) is fake.',
    '',
    '| File | What it holds |',
    '| --- | --- |',
    ...flowRows,
    '',
    '## Evasions',
    '',
    'Traffic shaped to slip past a passive detector or to mislead it, each with the alerts the shipped rules',
    'must still raise. Patient data (DOE^JANE, MRN123456) is fake.',
    '',
    '| File | What it holds |',
    '| --- | --- |',
    ...evasionRows,
    '',
    '## Expected alerts',
    '',
    '`<capture>.expected.json` beside each capture holds `{ "alerts": { "<signature_id>": <count> } }` (and',
    'optionally `"args"` for the replay): exactly the alerts `wardwatch replay <capture>` must raise with the',
    'shipped rules and indicators and the default HOME_NET (10/8, 172.16/12, 192.168/16, 100.64/10,',
    '169.254/16, fc00::/7, fe80::/10). The counts follow from the rules in `rules/contec-cms8000.yaml`; every',
    'rule fires at most once per flow, and a UDP flow is one client port talking to one server port.',
    '',
    '| File | Alerts | Why |',
    '| --- | --- | --- |',
    ...alertRows,
    '',
  ].join('\n');
}

export async function writeSamples(outdir: string): Promise<string[]> {
  await mkdir(outdir, { recursive: true });
  const written: string[] = [];
  for (const s of scenarios) {
    const path = join(outdir, s.file);
    await writeFile(path, s.build());
    if (s.expected !== undefined) await writeFile(`${path}.expected.json`, expectationJson(s.expected));
    written.push(path);
  }
  await writeFile(join(outdir, 'README.md'), readme());
  return written;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outdir = process.argv[2] ?? 'pcaps';
  const written = await writeSamples(outdir);
  process.stdout.write(`wrote ${written.length} captures and README.md to ${outdir}\n`);
}
