import type { Direction } from './direction.js';
import type { Flow, FlowEndReason } from './flow.js';
import type { PacketView } from '../decode/packet-view.js';

/** What the flow layer hands on: packets in their flow, in-order bytes, gaps, and flow ends. */
export interface FlowConsumer {
  /** Every packet, after its flow was updated. */
  packet(flow: Flow, dir: Direction, view: PacketView): void;
  /** TCP: the next in-order stream bytes. UDP: one datagram's payload. Valid only during the call. */
  data(flow: Flow, dir: Direction, bytes: Uint8Array): void;
  /** TCP: `length` bytes of this direction were lost (not captured, or cut by the snap length). */
  gap(flow: Flow, dir: Direction, length: number): void;
  /** The flow is over; it is not touched again after this call. */
  flowEnd(flow: Flow, reason: FlowEndReason): void;
}
