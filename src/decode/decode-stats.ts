/**
 * Decoder counters. Invalid packets are counted by reason, with Suricata's decoder event names
 * where one exists, so a stats record reads like `decoder.event.ipv4.trunc_pkt`.
 */
export type InvalidReason =
  | 'link.unsupported'
  | 'ethernet.pkt_too_small'
  | 'vlan.header_too_small'
  | 'vlan.too_many_layers'
  | 'llc.pkt_too_small'
  | 'sll.pkt_too_small'
  | 'sll2.pkt_too_small'
  | 'null.pkt_too_small'
  | 'null.unsupported_family'
  | 'ipraw.invalid_ip_version'
  | 'ipv4.pkt_too_small'
  | 'ipv4.hlen_too_small'
  | 'ipv4.iplen_smaller_than_hlen'
  | 'ipv4.trunc_pkt'
  | 'ipv4.wrong_ip_version'
  | 'ipv6.pkt_too_small'
  | 'ipv6.trunc_pkt'
  | 'ipv6.trunc_exthdr'
  | 'ipv6.wrong_ip_version'
  | 'tcp.pkt_too_small'
  | 'tcp.hlen_too_small'
  | 'tcp.invalid_optlen'
  | 'udp.pkt_too_small'
  | 'udp.hlen_invalid'
  | 'icmpv4.pkt_too_small'
  | 'icmpv6.pkt_too_small'
  | 'gre.pkt_too_small'
  | 'gre.wrong_version'
  | 'erspan.header_too_small'
  | 'erspan.unsupported_version'
  | 'tunnel.too_deep';

/** Anomalies that do not stop a packet from being analysed. */
export type AnomalyReason = 'tcp.invalid_optlen' | 'frag.overlap_conflict' | 'ipv4.frag_too_large' | 'ipv6.frag_too_large' | 'ipv4.total_length_zero';

export class DecodeStats {
  packets = 0;
  bytes = 0;
  /** Packets that were not IP (ARP, STP, LLDP...): not errors, just not analysed. */
  nonIp = 0;
  invalid = 0;
  readonly invalidByReason = new Map<InvalidReason, number>();
  readonly byLinkType = new Map<number, number>();
  ipv4 = 0;
  ipv6 = 0;
  tcp = 0;
  udp = 0;
  icmpv4 = 0;
  icmpv6 = 0;
  /** IP packets carrying some other protocol (ESP, SCTP, OSPF...). */
  otherIpProto = 0;
  vlan = 0;
  gre = 0;
  erspan = 0;
  vxlan = 0;
  /** Packets cut by the snap length (caplen < origlen). */
  truncatedBySnaplen = 0;
  /** Records whose timestamp fraction was a second or more and was carried into the seconds. */
  timestampsCarried = 0;

  countInvalid(reason: InvalidReason): void {
    this.invalid++;
    this.invalidByReason.set(reason, (this.invalidByReason.get(reason) ?? 0) + 1);
  }

  /** Non-fatal anomalies, by reason. */
  readonly anomalies = new Map<AnomalyReason, number>();

  countAnomaly(reason: AnomalyReason): void {
    this.anomalies.set(reason, (this.anomalies.get(reason) ?? 0) + 1);
  }

  countLinkType(linkType: number): void {
    this.byLinkType.set(linkType, (this.byLinkType.get(linkType) ?? 0) + 1);
  }
}
