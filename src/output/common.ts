/** Formatting shared by the EVE, text and inventory outputs. */
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from '../decode/packet-view.js';
import type { Alert } from '../detect/alert.js';
import { formatAddress } from '../lib/ip-text.js';
import { utcSeconds } from '../lib/time-text.js';
import type { Flow } from '../flow/flow.js';

const IPPROTO_SCTP = 132;

/** Suricata's timestamp: UTC, microseconds, numeric zone, e.g. 2025-01-30T10:00:00.123456+0000. */
export function eveTimestamp(sec: number, nsec: number): string {
  const usec = Math.floor(nsec / 1000);
  return utcSeconds(sec) + '.' + String(usec).padStart(6, '0') + '+0000';
}

/** Wall-clock milliseconds as an EVE timestamp. */
export function eveTimestampOfMs(ms: number): string {
  const sec = Math.floor(ms / 1000);
  return eveTimestamp(sec, Math.round((ms - sec * 1000) * 1e6));
}

/** Protocol as Suricata names it: TCP, UDP, ICMP, IPv6-ICMP, SCTP, else the number as text. */
export function protoName(proto: number): string {
  switch (proto) {
    case IPPROTO_TCP:
      return 'TCP';
    case IPPROTO_UDP:
      return 'UDP';
    case IPPROTO_ICMP:
      return 'ICMP';
    case IPPROTO_ICMPV6:
      return 'IPv6-ICMP';
    case IPPROTO_SCTP:
      return 'SCTP';
    default:
      return String(proto);
  }
}

/** Whether the protocol has ports (EVE leaves src_port/dest_port out otherwise). */
export function hasPorts(proto: number): boolean {
  return proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === IPPROTO_SCTP;
}

export function clientAddress(flow: Flow): string {
  return formatAddress(flow.ipVersion, flow.addr, 0);
}

export function serverAddress(flow: Flow): string {
  return formatAddress(flow.ipVersion, flow.addr, 4);
}

/** A 48-bit MAC address as Suricata writes it: six lower-case hex pairs joined by colons. */
export function macText(mac: number): string {
  const hex = mac.toString(16).padStart(12, '0');
  return hex.replace(/(..)(?!$)/g, '$1:');
}

/** Suricata's `ether` object for a flow's MACs seen from `fromClient`'s side; undefined without Ethernet. */
export function etherObject(flow: Flow, fromClient: boolean): { src_mac: string; dest_mac: string } | undefined {
  if (flow.clientMac === 0 && flow.serverMac === 0) return undefined;
  const client = macText(flow.clientMac);
  const server = macText(flow.serverMac);
  return fromClient ? { src_mac: client, dest_mac: server } : { src_mac: server, dest_mac: client };
}

export function severityName(severity: 1 | 2 | 3): 'high' | 'medium' | 'low' {
  return severity === 1 ? 'high' : severity === 2 ? 'medium' : 'low';
}

/**
 * The side of the flow an alert is about: the side opposite an indicator (the host that talked to
 * it), the server when the rule is about what the server is (a monitor reached from outside),
 * else the client, which started the conversation the rule objected to.
 */
export function alertHostSide(alert: Alert): 'client' | 'server' {
  if (alert.indicator !== null) return alert.indicator.side === 'server' ? 'client' : 'server';
  if (alert.rule.serverRole !== null) return 'server';
  return 'client';
}
