import type { CapturedPacket } from '../capture/packet.js';
import { PacketDecoder } from '../decode/decoder.js';
import type { DefragOptions } from '../decode/defrag.js';
import { PacketView } from '../decode/packet-view.js';
import { DECODE_OK } from '../decode/result.js';
import { DEFAULT_DEDUP_OPTIONS, Deduplicator, type DedupOptions } from '../flow/dedup.js';
import type { FlowConsumer } from '../flow/flow-consumer.js';
import { FlowTable, type FlowTableOptions } from '../flow/flow-table.js';

export interface PipelineOptions {
  flows?: Partial<FlowTableOptions>;
  dedup?: DedupOptions;
  defrag?: DefragOptions;
}

/**
 * Wires the stages together for one stream of packets: decode, drop mirror duplicates, follow
 * flows, and hand flows and stream bytes to the consumer. Replay and live capture both feed it,
 * so both analyse packets with the same code.
 */
export class Pipeline {
  readonly decoder: PacketDecoder;
  readonly dedup: Deduplicator;
  readonly flows: FlowTable;
  private readonly view = new PacketView();

  constructor(consumer: FlowConsumer, options: PipelineOptions = {}) {
    this.decoder = new PacketDecoder(options.defrag);
    this.dedup = new Deduplicator(options.dedup ?? DEFAULT_DEDUP_OPTIONS);
    this.flows = new FlowTable(consumer, options.flows);
  }

  process(pkt: CapturedPacket): void {
    const view = this.view;
    if (this.decoder.decode(pkt, view) !== DECODE_OK) {
      // Counted as invalid, but its addresses still reach the rules that need no more.
      if (view.transportMissing) this.flows.process(view);
      return;
    }
    if (this.dedup.isDuplicate(view)) return;
    this.flows.process(view);
  }

  /** Clock-driven time in live mode: expires idle flows and fragments. */
  advanceClock(nowSec: number): void {
    this.flows.advance(nowSec);
    this.decoder.defrag.expire(nowSec);
  }

  /** End of input: every open flow ends and reports. */
  finish(): void {
    this.flows.finish();
  }
}
