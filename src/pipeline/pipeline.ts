import type { CapturedPacket } from '../capture/packet.js';
import { PacketDecoder } from '../decode/decoder.js';
import { PacketView } from '../decode/packet-view.js';
import { DECODE_OK } from '../decode/result.js';

/**
 * Wires the stages together for one stream of packets: decode, then hand the view on.
 * Replay and live capture both feed it, so both analyse packets with the same code.
 */
export class Pipeline {
  readonly decoder = new PacketDecoder();
  private readonly view = new PacketView();

  process(pkt: CapturedPacket): void {
    if (this.decoder.decode(pkt, this.view) !== DECODE_OK) return;
  }
}
