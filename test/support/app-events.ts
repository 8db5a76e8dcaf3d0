import { expect } from 'vitest';
import { AppLayer, type AppConsumer } from '../../src/analyzers/app-layer.js';
import type { AppEvent } from '../../src/analyzers/events.js';
import { ANALYZERS } from '../../src/analyzers/registry.js';
import { openCapture } from '../../src/capture/open-capture.js';
import { CapturedPacket } from '../../src/capture/packet.js';
import type { Flow } from '../../src/flow/flow.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';

export interface FlowEvent {
  flow: Flow;
  event: AppEvent;
}

/** Runs the decoder, flows and every analyzer over a capture, read to its end without error, and keeps the events in order. */
export async function appEventsOf(path: string): Promise<FlowEvent[]> {
  const found: FlowEvent[] = [];
  const recorder: AppConsumer = {
    packet: () => {},
    event: (flow, event) => found.push({ flow, event }),
    flowEnd: () => {},
    wantsEvents: () => true,
  };
  const pipeline = new Pipeline(new AppLayer(ANALYZERS, recorder));
  const { source } = await openCapture(path);
  const pkt = new CapturedPacket();
  try {
    do {
      while (source.next(pkt)) pipeline.process(pkt);
    } while (await source.refill());
  } finally {
    await source.close();
  }
  expect(source.error).toBeNull();
  pipeline.finish();
  return found;
}
