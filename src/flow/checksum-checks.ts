import { CHECKSUM_BAD, CHECKSUM_LEFT_TO_NIC, CHECKSUM_UNKNOWN, transportChecksum } from '../decode/checksum.js';
import { IPPROTO_TCP, type PacketView } from '../decode/packet-view.js';
import type { FlowStats } from './flow-stats.js';

/**
 * `yes`: segments and datagrams with a wrong checksum are never reassembled or analysed (the
 * receiving host dropped them too, so whatever they carry is what an evasion wants the sensor
 * alone to see). `no`: checksums are not looked at. `auto` (Suricata's `checksum-checks: auto`):
 * checked, until the first CHECKSUM_SAMPLE checked packets show offloading, which turns the
 * checks off for the rest of the run. While it judges, and after it if offloading was all the
 * sample's wrong checksums showed, a checksum that is exactly the pseudo-header's sum (what the
 * capture host's stack left for its NIC to finish) is taken as sent, not as corrupt: otherwise a
 * capture taken on a host would lose that host's first packets, a MOUNT call among them.
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
  /** Whether a checksum left to the NIC is taken as sent (see ChecksumValidation). */
  private leftToNicAccepted: boolean;
  private sampled = 0;
  private bad = 0;
  private leftToNic = 0;

  constructor(
    private readonly mode: ChecksumValidation,
    private readonly stats: FlowStats,
  ) {
    this.checking = mode !== 'no';
    this.leftToNicAccepted = mode === 'auto';
  }

  /** Whether the packet's payload may be used: false when its checksum is known wrong (counted). */
  accept(view: PacketView): boolean {
    if (!this.checking) return true;
    const state = transportChecksum(view);
    if (state === CHECKSUM_UNKNOWN) return true;
    if (this.mode === 'auto' && this.sampled < CHECKSUM_SAMPLE) this.sample(state);
    if (state === CHECKSUM_LEFT_TO_NIC && this.leftToNicAccepted) {
      this.stats.checksumLeftToNic++;
      return true;
    }
    if (state !== CHECKSUM_BAD && state !== CHECKSUM_LEFT_TO_NIC) return true;
    if (view.ipProto === IPPROTO_TCP) this.stats.tcpChecksumInvalid++;
    else this.stats.udpChecksumInvalid++;
    return !this.checking; // the sample that just turned the checks off is used
  }

  private sample(state: number): void {
    this.sampled++;
    if (state === CHECKSUM_BAD) this.bad++;
    else if (state === CHECKSUM_LEFT_TO_NIC) this.leftToNic++;
    if (this.sampled < CHECKSUM_SAMPLE) return;
    if (this.bad + this.leftToNic > CHECKSUM_SAMPLE * CHECKSUM_OFFLOAD_SHARE) {
      this.checking = false;
      this.stats.checksumChecksOff = 1;
    }
    // On a mirror port no checksum is left to a NIC: one that looks so later is refused.
    this.leftToNicAccepted = this.leftToNic > 0 && this.bad === 0;
  }
}
