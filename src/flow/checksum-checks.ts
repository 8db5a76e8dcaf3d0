import { transportChecksumValid } from '../decode/checksum.js';
import { IPPROTO_TCP, type PacketView } from '../decode/packet-view.js';
import type { FlowStats } from './flow-stats.js';

/**
 * `yes`: segments and datagrams with a wrong checksum are never reassembled or analysed (the
 * receiving host dropped them too, so whatever they carry is what an evasion wants the sensor
 * alone to see). `no`: checksums are not looked at. `auto` (Suricata's `checksum-checks: auto`):
 * checked, until the first CHECKSUM_SAMPLE checked packets show offloading, which turns the
 * checks off for the rest of the run.
 */
export type ChecksumValidation = 'auto' | 'yes' | 'no';

/**
 * How many checked packets `auto` judges by. A capture taken on a host whose NIC computes
 * checksums holds that host's own sends with wrong ones, and none of the others': the share of
 * bad ones is that host's share of the payload packets, often well under half, so more than
 * CHECKSUM_OFFLOAD_SHARE of them already means offloading (Suricata's auto mode judges the same
 * way: 1000 packets, a tenth bad). A mirror port sees frames as they were on the wire, where
 * checksums are right but for the rare corrupt frame or a crafted one.
 */
export const CHECKSUM_SAMPLE = 1000;
export const CHECKSUM_OFFLOAD_SHARE = 0.1;

/** Checksum validation of the payload packets that reach reassembly or the analyzers. */
export class ChecksumChecks {
  private checking: boolean;
  private sampled = 0;
  private bad = 0;

  constructor(
    private readonly mode: ChecksumValidation,
    private readonly stats: FlowStats,
  ) {
    this.checking = mode !== 'no';
  }

  /** Whether the packet's payload may be used: false when its checksum is known wrong (counted). */
  accept(view: PacketView): boolean {
    if (!this.checking) return true;
    const valid = transportChecksumValid(view);
    if (valid === null) return true;
    if (this.mode === 'auto' && this.sampled < CHECKSUM_SAMPLE) this.sample(valid);
    if (valid) return true;
    if (view.ipProto === IPPROTO_TCP) this.stats.tcpChecksumInvalid++;
    else this.stats.udpChecksumInvalid++;
    return !this.checking; // the sample that just turned the checks off is used
  }

  private sample(valid: boolean): void {
    this.sampled++;
    if (!valid) this.bad++;
    if (this.sampled === CHECKSUM_SAMPLE && this.bad > CHECKSUM_SAMPLE * CHECKSUM_OFFLOAD_SHARE) {
      this.checking = false;
      this.stats.checksumChecksOff = 1;
    }
  }
}
