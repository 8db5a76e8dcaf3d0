/**
 * One captured frame as a reader hands it over. Readers fill the same object again for every
 * record, and `data` is the reader's own buffer: a consumer that keeps bytes must copy them.
 */
export class CapturedPacket {
  /** Buffer holding the frame at [offset, offset + caplen). */
  data: Uint8Array = new Uint8Array(0);
  offset = 0;
  caplen = 0;
  /** Length of the frame on the wire; larger than caplen when the snap length cut it. */
  origlen = 0;
  tsSec = 0;
  /** Always below 10^9: a record whose fraction said more was carried into tsSec (see timestampWasCarried). */
  tsNsec = 0;
  /** The record's own timestamp fraction was a second or more (or negative) and was carried. */
  timestampWasCarried = false;
  /** LINKTYPE_* value of the interface the frame was captured on. */
  linkType = 0;
  interfaceId = 0;
  /** 1-based number of the packet in its capture (Suricata's pcap_cnt). */
  index = 0;
  /** Byte offset of the record in the (decompressed) capture. */
  recordOffset = 0;
}

/**
 * Sets the packet's time from whole seconds and nanoseconds that may be out of range (a pcap
 * record with a microsecond field of 10^6 or more, a pcapng fraction rounded up to a whole
 * second): the excess is carried into the seconds, as libpcap-based tools print it, so no output
 * ever shows a fraction of seven digits.
 */
export function setPacketTime(pkt: CapturedPacket, sec: number, nsec: number): void {
  if (nsec >= 0 && nsec < 1_000_000_000) {
    pkt.tsSec = sec;
    pkt.tsNsec = nsec;
    pkt.timestampWasCarried = false;
    return;
  }
  const carry = Math.floor(nsec / 1_000_000_000);
  pkt.tsSec = sec + carry;
  pkt.tsNsec = nsec - carry * 1_000_000_000;
  pkt.timestampWasCarried = true;
}
