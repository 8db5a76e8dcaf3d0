/** What the kernel reports of a live capture (libpcap's counters). */
export interface CaptureCounters {
  kernelPackets: number;
  kernelDrops: number;
  ifDrops?: number;
  /** Live only: packets captured since the previous stats record. */
  intervalPackets?: number;
  /** Live only: seconds since the last packet arrived (0 while traffic flows). */
  quietSeconds?: number;
}
