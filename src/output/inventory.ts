/**
 * The suspected-device inventory: the hosts a hospital has to find and unplug. Built from what the
 * rule engine hands its sinks. A host becomes a suspect when it speaks a protocol the registry
 * lists speakers of (the client of a CMS8000 flow, an HL7 sender, a DICOM peer), talks to (or is contacted by) an indicator address, or is the host an alert is about
 * (see alertHostSide); from then on every flow it takes part in is counted. Flows before that
 * first sight are not, since they are gone by then. A host an alert is about as the server of a
 * host-role rule (a monitor reached from outside, 1000007) counts the clients that reached it.
 */
import { IPPROTO_TCP, TCP_SYN } from '../decode/packet-view.js';
import type { Alert, DetectSink, FlowRecord } from '../detect/alert.js';
import { protocolOf, speakerConcern } from '../analyzers/registry.js';
import { formatAddress } from '../lib/ip-text.js';
import type { Flow } from '../flow/flow.js';
import { AlertTally, type AlertTallyRow } from './alert-tally.js';
import { alertHostSide, clientAddress, hasPorts, macText } from './common.js';
import { type EveRecord, inventoryRecord } from './eve.js';

export interface InventoryOptions {
  /** Hosts tracked at most; later suspects are only counted. */
  maxHosts?: number;
  /** Peers and ports listed per host at most; the rest are only counted. */
  maxPeers?: number;
  maxPorts?: number;
}

export interface SuspectedDevice {
  address: string;
  /** The MAC address of its side of the first Ethernet frame seen (beyond a router: the router's); null without Ethernet. */
  mac: string | null;
  firstSec: number;
  firstNsec: number;
  lastSec: number;
  lastNsec: number;
  /**
   * Protocols it was seen speaking, as the registry labels them ('CMS8000', 'HL7', 'DICOM'): the
   * client of a flow of that protocol, or a host its events name (an HL7 sender, a DICOM peer).
   */
  speaks: readonly string[];
  /** Names it goes by in them (HL7 MSH-3|MSH-4, DICOM AE titles), the first MAX_NAMES_PER_HOST. */
  names: ReadonlyArray<{ protocol: string; name: string }>;
  /** Indicator addresses it talked to or was contacted by. */
  indicators: readonly string[];
  /** Rules whose alerts were about this host, most frequent first. */
  rules: ReadonlyArray<{ id: number; name: string; count: number }>;
  /** Ended flows it took part in, since it became a suspect. */
  flows: number;
  /** TCP flows it opened with a SYN that were never answered (a blocked device keeps retrying). */
  unansweredSyns: number;
  /**
   * External hosts that reached it: the distinct clients of the alerts about it as the server
   * of a host-role rule (at most MAX_REACHED_BY are told apart).
   */
  reachedByExternal: number;
  /** Addresses it talked to, the first maxPeers of them; morePeers when there were others. */
  peers: readonly string[];
  morePeers: boolean;
  /** Server ports of its flows, ascending, the first maxPorts of them; morePorts when there were others. */
  ports: readonly number[];
  morePorts: boolean;
}

export interface InventorySnapshot {
  devices: SuspectedDevice[];
  /** Suspects seen once the host cap was reached, not tracked. */
  hostsNotListed: number;
  maxHosts: number;
  /** Every alert the inventory saw, per rule (hosts of any number). */
  alerts: AlertTallyRow[];
}

class HostState {
  firstSec = Number.MAX_SAFE_INTEGER;
  firstNsec = 0;
  lastSec = 0;
  lastNsec = 0;
  readonly speaks = new Set<string>();
  /** 'label\0name' keys, in first-seen order. */
  readonly names = new Set<string>();
  readonly indicators = new Set<string>();
  readonly rules = new Map<number, { id: number; name: string; count: number }>();
  flows = 0;
  unansweredSyns = 0;
  readonly reachedBy = new Set<string>();
  readonly peers = new Set<string>();
  morePeers = false;
  readonly ports = new Set<number>();
  morePorts = false;
  mac = 0;

  constructor(readonly address: string) {}

  seen(sec: number, nsec: number): void {
    if (sec < this.firstSec || (sec === this.firstSec && nsec < this.firstNsec)) {
      this.firstSec = sec;
      this.firstNsec = nsec;
    }
    if (sec > this.lastSec || (sec === this.lastSec && nsec > this.lastNsec)) {
      this.lastSec = sec;
      this.lastNsec = nsec;
    }
  }
}

const MAX_INDICATORS_PER_HOST = 16;
const MAX_NAMES_PER_HOST = 16;
const MAX_RULES_PER_HOST = 64;
export const MAX_REACHED_BY = 10_000;

export class Inventory implements DetectSink {
  readonly maxHosts: number;
  private readonly maxPeers: number;
  private readonly maxPorts: number;
  /** IPv4 hosts keyed by their address word, IPv6 by their text. */
  private readonly hosts = new Map<number | string, HostState>();
  private hostsNotListed = 0;
  private readonly tally = new AlertTally();

  constructor(options: InventoryOptions = {}) {
    this.maxHosts = options.maxHosts ?? 10_000;
    this.maxPeers = options.maxPeers ?? 32;
    this.maxPorts = options.maxPorts ?? 32;
  }

  get size(): number {
    return this.hosts.size;
  }

  alert(alert: Alert): void {
    this.tally.alert(alert);
    const flow = alert.flow;
    const side = alertHostSide(alert) === 'client' ? 0 : 4;
    const host = this.suspect(flow, side);
    if (host !== null) {
      host.seen(alert.tsSec, alert.tsNsec);
      if (host.mac === 0) host.mac = side === 0 ? flow.clientMac : flow.serverMac;
      if (alert.indicator !== null && host.indicators.size < MAX_INDICATORS_PER_HOST) host.indicators.add(alert.indicator.address);
      if (alert.rule.serverRole !== null && side === 4 && host.reachedBy.size < MAX_REACHED_BY) host.reachedBy.add(clientAddress(flow));
      const rule = host.rules.get(alert.rule.id);
      if (rule) rule.count++;
      else if (host.rules.size < MAX_RULES_PER_HOST) host.rules.set(alert.rule.id, { id: alert.rule.id, name: alert.rule.name, count: 1 });
    }
  }

  flowEnd(record: FlowRecord): void {
    const flow = record.flow;
    const speaker = protocolOf(flow.appProto)?.speaker;
    if (speaker !== undefined) this.suspect(flow, 0)?.speaks.add(speaker.label);
    for (const s of flow.speakers ?? []) {
      const host = this.suspect(flow, s.side);
      if (host === null) continue;
      host.speaks.add(s.label);
      if (s.name !== '' && host.names.size < MAX_NAMES_PER_HOST) host.names.add(`${s.label}\0${s.name}`);
    }
    const client = this.hosts.get(keyOf(flow, 0));
    const server = this.hosts.get(keyOf(flow, 4));
    if (client !== undefined) {
      this.countFlow(client, flow, 4);
      if (flow.proto === IPPROTO_TCP && flow.packetsToClient === 0 && (flow.tcpFlagsToServer & TCP_SYN) !== 0) client.unansweredSyns++;
    }
    if (server !== undefined) this.countFlow(server, flow, 0);
  }

  snapshot(): InventorySnapshot {
    const devices: SuspectedDevice[] = [];
    for (const h of this.hosts.values()) {
      devices.push({
        address: h.address,
        mac: h.mac === 0 ? null : macText(h.mac),
        firstSec: h.firstSec === Number.MAX_SAFE_INTEGER ? 0 : h.firstSec,
        firstNsec: h.firstNsec,
        lastSec: h.lastSec,
        lastNsec: h.lastNsec,
        speaks: [...h.speaks].sort(),
        names: [...h.names].map((key) => {
          const cut = key.indexOf('\0');
          return { protocol: key.slice(0, cut), name: key.slice(cut + 1) };
        }),
        indicators: [...h.indicators],
        rules: [...h.rules.values()].map((r) => ({ ...r })).sort((a, b) => b.count - a.count || a.id - b.id),
        flows: h.flows,
        unansweredSyns: h.unansweredSyns,
        reachedByExternal: h.reachedBy.size,
        peers: [...h.peers],
        morePeers: h.morePeers,
        ports: [...h.ports].sort((a, b) => a - b),
        morePorts: h.morePorts,
      });
    }
    devices.sort((a, b) => concern(b) - concern(a) || alertCount(b) - alertCount(a) || compareAddresses(a.address, b.address));
    return { devices, hostsNotListed: this.hostsNotListed, maxHosts: this.maxHosts, alerts: this.tally.rows() };
  }

  toRecord(nowMs?: number): EveRecord {
    return inventoryRecord(this.snapshot(), nowMs);
  }

  /** The host at addr[at..] of the flow, tracked from now on; null once the cap is reached. */
  private suspect(flow: Flow, at: 0 | 4): HostState | null {
    const key = keyOf(flow, at);
    let host = this.hosts.get(key);
    if (host === undefined) {
      if (this.hosts.size >= this.maxHosts) {
        this.hostsNotListed++;
        return null;
      }
      host = new HostState(typeof key === 'string' ? key : formatAddress(4, flow.addr, at));
      this.hosts.set(key, host);
    }
    return host;
  }

  private countFlow(host: HostState, flow: Flow, peerAt: 0 | 4): void {
    host.flows++;
    if (host.mac === 0) host.mac = peerAt === 4 ? flow.clientMac : flow.serverMac;
    host.seen(flow.startSec, flow.startNsec);
    host.seen(flow.lastSec, flow.lastNsec);
    const peer = formatAddress(flow.ipVersion, flow.addr, peerAt);
    if (!host.peers.has(peer)) {
      if (host.peers.size < this.maxPeers) host.peers.add(peer);
      else host.morePeers = true;
    }
    if (hasPorts(flow.proto) && !host.ports.has(flow.serverPort)) {
      if (host.ports.size < this.maxPorts) host.ports.add(flow.serverPort);
      else host.morePorts = true;
    }
  }
}

function keyOf(flow: Flow, at: 0 | 4): number | string {
  return flow.ipVersion === 4 ? flow.addr[at] : formatAddress(flow.ipVersion, flow.addr, at);
}

/** Talking to an indicator weighs most, then what it speaks (the backdoored monitor's protocol most). */
function concern(d: SuspectedDevice): number {
  return (d.indicators.length > 0 ? 4 : 0) + d.speaks.reduce((n, label) => n + speakerConcern(label), 0);
}

function alertCount(d: SuspectedDevice): number {
  return d.rules.reduce((n, r) => n + r.count, 0);
}

function compareAddresses(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
