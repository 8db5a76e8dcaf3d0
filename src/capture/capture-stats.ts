/** What the kernel reports of a live capture (libpcap's counters). */
export interface CaptureCounters {
  kernelPackets: number;
  kernelDrops: number;
  ifDrops?: number;
}
