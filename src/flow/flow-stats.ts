/** Counters of the flow layer, named after Suricata's where one exists. */
export class FlowStats {
  total = 0;
  tcp = 0;
  udp = 0;
  icmp = 0;
  other = 0;
  active = 0;
  endedTimeout = 0;
  endedClosed = 0;
  endedEvicted = 0;
  endedEndOfInput = 0;
  /** Flows ended because a new TCP connection reused their 5-tuple without closing them first. */
  endedReused = 0;
  /** Flow creations refused because the table was full of flows that could not be evicted. */
  refused = 0;
  /** Mid-stream pickups: TCP flows first seen without their SYN. */
  midstream = 0;
  /** Payload packets dropped before reassembly or analysis for a wrong TCP or UDP checksum. */
  tcpChecksumInvalid = 0;
  udpChecksumInvalid = 0;
  /** 1 once `auto` checksum validation saw offloading and turned itself off. */
  checksumChecksOff = 0;
  /** Payload packets whose checksum was left to the sending host's NIC, analysed as sent. */
  checksumLeftToNic = 0;
  /** Impossible TCP flag combinations (SYN+FIN, SYN+RST, no flags...). */
  tcpInvalidFlags = 0;
}

export class ReassemblyStats {
  /** Bytes handed to consumers in order. */
  bytesDelivered = 0;
  gaps = 0;
  gapBytes = 0;
  outOfOrder = 0;
  retransmissions = 0;
  overlaps = 0;
  /** Overlapping data that disagrees with what arrived first (first arrival wins). */
  overlapConflicts = 0;
  /** Segments dropped because the per-stream or global buffer cap was reached. */
  segmentsDroppedMemcap = 0;
  /** Segments far outside the expected sequence range. */
  sequenceJumps = 0;
  /** Streams whose inspection depth was reached. */
  depthReached = 0;
  /** Bytes currently buffered out of order, across all streams. */
  bufferedBytes = 0;
}

export class DedupStats {
  checked = 0;
  suppressed = 0;
}
