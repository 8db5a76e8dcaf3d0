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
  tsNsec = 0;
  /** LINKTYPE_* value of the interface the frame was captured on. */
  linkType = 0;
  interfaceId = 0;
  /** 1-based number of the packet in its capture (Suricata's pcap_cnt). */
  index = 0;
  /** Byte offset of the record in the (decompressed) capture. */
  recordOffset = 0;
}
