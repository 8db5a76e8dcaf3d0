/**
 * Whether packets still arrive on a live capture. A SPAN session that silently stopped (a switch
 * reconfigured, a cable moved) looks like a quiet network: after `quietAfterSec` without a packet
 * the watch says so once, and once more when traffic is back.
 */
export interface TrafficLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export class TrafficWatch {
  private lastPackets = 0;
  private lastPacketMs: number;
  private quiet = false;
  private packetsAtLastInterval = 0;

  constructor(
    private readonly interfaceName: string,
    /** Seconds without a packet before the warning; 0 never warns. */
    private readonly quietAfterSec: number,
    private readonly log: TrafficLog,
    nowMs: number = Date.now(),
  ) {
    this.lastPacketMs = nowMs;
  }

  /** Called about once a second with the packets captured so far. */
  check(packets: number, nowMs: number = Date.now()): void {
    if (packets !== this.lastPackets) {
      this.lastPackets = packets;
      this.lastPacketMs = nowMs;
      if (this.quiet) {
        this.quiet = false;
        this.log.info({ interface: this.interfaceName }, 'packets are arriving again');
      }
      return;
    }
    const quietSec = (nowMs - this.lastPacketMs) / 1000;
    if (!this.quiet && this.quietAfterSec > 0 && quietSec >= this.quietAfterSec) {
      this.quiet = true;
      this.log.warn(
        { interface: this.interfaceName, quietSeconds: Math.round(quietSec) },
        'no packet captured for a while: is the mirror (SPAN) session still sending to this interface?',
      );
    }
  }

  /** Seconds since the last packet, as of the last check (whole seconds). */
  quietSeconds(nowMs: number = Date.now()): number {
    return Math.max(0, Math.floor((nowMs - this.lastPacketMs) / 1000));
  }

  /** Packets captured since the previous call. */
  intervalPackets(packets: number): number {
    const n = packets - this.packetsAtLastInterval;
    this.packetsAtLastInterval = packets;
    return n;
  }
}
