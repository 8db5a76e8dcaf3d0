/**
 * The decoded form of one packet. The decoder fills the same object for every packet: no
 * per-packet object graph, no copies of payload. Consumers read it during the callback and copy
 * what they keep.
 */
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_GRE = 47;
export const IPPROTO_ICMPV6 = 58;

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;

export const MAX_VLAN_LAYERS = 3;

export class PacketView {
  tsSec = 0;
  tsNsec = 0;
  linkType = 0;
  /** Bytes of the frame on the wire and as captured. */
  wireLength = 0;
  capturedLength = 0;
  /** The snap length cut this frame: headers may announce more bytes than were captured. */
  cutBySnaplen = false;

  /** Outermost-first VLAN ids (802.1Q/802.1ad/0x9100) of the packet that is analysed. */
  readonly vlanIds = new Uint16Array(MAX_VLAN_LAYERS);
  vlanCount = 0;
  /** Source and destination MAC of the innermost Ethernet header as 48-bit numbers; 0 without one. */
  srcMac = 0;
  dstMac = 0;
  /** How many tunnel layers (GRE, ERSPAN, VXLAN) were removed to reach the analysed packet. */
  tunnelDepth = 0;

  /** 4 or 6 once an IP header was decoded. */
  ipVersion = 0;
  /**
   * Addresses as 32-bit words: [0..3] source, [4..7] destination. IPv4 uses words 0 and 4 only,
   * with the others zero. Numeric so flow hashing needs no strings.
   */
  readonly addr = new Uint32Array(8);
  ttl = 0;
  /**
   * The outermost IP header's two addresses folded into one number, the same for both
   * directions (XOR): what analysis threads route on.
   */
  outerPairHash = 0;
  /** The transport protocol after any IPv6 extension headers. */
  ipProto = 0;
  /** Buffer holding the IP packet (the frame, or a reassembled datagram). */
  ipBuf: Uint8Array = new Uint8Array(0);
  ipOffset = 0;
  /** Bytes of the IP packet present in ipBuf (cut by the snap length or not). */
  ipCapturedLength = 0;
  /** True when this packet was rebuilt from fragments. */
  reassembled = false;
  /**
   * The IP header was decoded but the transport header could not be (cut off, malformed): the
   * packet is invalid, and only its addresses and protocol are known.
   */
  transportMissing = false;
  /**
   * The transport checksum cannot be checked from the packet alone: the record shows the NIC was
   * to fill in lengths and checksums (TSO/GRO), or an IPv6 routing header names another final
   * destination for the pseudo-header.
   */
  checksumsUncheckable = false;

  /** Where the transport header (TCP, UDP, ICMP...) starts in ipBuf. */
  transportOffset = 0;
  srcPort = 0;
  dstPort = 0;
  tcpFlags = 0;
  tcpSeq = 0;
  tcpAck = 0;
  tcpWindow = 0;
  /** TCP options of interest, from SYNs: 0 when absent. */
  tcpMss = 0;
  tcpWscale = -1;
  tcpSackPermitted = false;
  icmpType = 0;
  icmpCode = 0;

  /** Transport payload: [payloadOffset, payloadOffset + payloadLength) of ipBuf. */
  payloadOffset = 0;
  payloadLength = 0;
  /** Payload length the headers announce; more than payloadLength when the snap length cut it. */
  payloadWireLength = 0;

  reset(): void {
    this.vlanCount = 0;
    this.srcMac = 0;
    this.dstMac = 0;
    this.tunnelDepth = 0;
    this.ipVersion = 0;
    this.ipProto = 0;
    this.reassembled = false;
    this.checksumsUncheckable = false;
    this.transportMissing = false;
    this.srcPort = 0;
    this.dstPort = 0;
    this.tcpFlags = 0;
    this.tcpMss = 0;
    this.tcpWscale = -1;
    this.tcpSackPermitted = false;
    this.icmpType = 0;
    this.icmpCode = 0;
    this.payloadOffset = 0;
    this.payloadLength = 0;
    this.payloadWireLength = 0;
  }
}
