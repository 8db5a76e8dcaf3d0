import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AnalyzerFactory } from '../../src/analyzers/analyzer.js';
import { AppLayer, type AppConsumer } from '../../src/analyzers/app-layer.js';
import type { AppEvent } from '../../src/analyzers/events.js';
import { ANALYZERS } from '../../src/analyzers/registry.js';
import { openCapture } from '../../src/capture/open-capture.js';
import { CapturedPacket } from '../../src/capture/packet.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { SAMPLES_DIR } from '../support/captures.js';
import { makeFlow } from '../support/detect-harness.js';
import { ADT, ORU, mllp } from './hl7-fixtures.js';
import { MOUNT, PORTMAP, call, pmapMapping, record } from './rpc-fixtures.js';

/** The app layer over the shipped analyzers, with a next stage that wants events or not. */
function layerWanting(wanted: boolean) {
  const events: AppEvent[] = [];
  const asked: string[][] = [];
  const next: AppConsumer = {
    packet() {},
    event: (_flow, event) => events.push(event),
    flowEnd() {},
    wantsEvents: (_flow, types) => {
      asked.push([...types]);
      return wanted;
    },
  };
  return { layer: new AppLayer(ANALYZERS, next), events, asked };
}

const internalHl7 = () => makeFlow({ client: '10.1.6.10', server: '10.1.5.20', serverPort: 2575 });
const messages = (events: AppEvent[]) => events.filter((e) => e.type === 'hl7.message').length;

describe('the app layer, once a flow is identified', () => {
  it('stops analysing it when nothing downstream can use its events, and keeps its protocol', () => {
    const { layer, events, asked } = layerWanting(false);
    const flow = internalHl7();
    layer.data(flow, 0, mllp(ORU));
    expect(flow.appProto).toBe('hl7');
    expect(asked).toContainEqual(['hl7.message']);
    expect(flow.inspecting(0)).toBe(false);
    expect(flow.inspecting(1)).toBe(false);
    layer.data(flow, 0, mllp(ADT)); // the flow table would no longer deliver it; nothing is parsed
    expect(messages(events)).toBe(1);
    layer.flowEnd(flow, 'closed');
    expect(layer.stats.flowsByProto.get('hl7')).toBe(1);
  });

  it('follows it to the end when its events can matter', () => {
    const { layer, events } = layerWanting(true);
    const flow = internalHl7();
    layer.data(flow, 0, mllp(ORU));
    layer.data(flow, 0, mllp(ADT));
    expect(messages(events)).toBe(2);
    expect(flow.inspecting(0)).toBe(true);
  });

  it('never stops RPC early: its replies teach the ports of later flows', () => {
    const { layer, events } = layerWanting(false);
    const flow = makeFlow({ client: '10.20.30.80', server: '10.1.0.60', serverPort: 111 });
    const getport = (xid: number) => record(call({ xid, prog: PORTMAP, vers: 2, proc: 3, args: pmapMapping(MOUNT, 1, 17) }));
    layer.data(flow, 0, getport(1));
    layer.data(flow, 0, getport(2));
    expect(events.filter((e) => e.type === 'portmap.call')).toHaveLength(2);
    expect(flow.inspecting(0)).toBe(true);
  });
});

describe('the events each analyzer declares', () => {
  it('are the ones it reports, on every sample capture (the rule engine decides on them)', async () => {
    const reported = new Map<string, Set<string>>();
    // Each analyzer gets its own context, so every event is traced to the analyzer that made it.
    const traced: AnalyzerFactory[] = ANALYZERS.map((factory) => ({
      ...factory,
      create: (ctx) =>
        factory.create({
          flow: ctx.flow,
          evidence: ctx.evidence,
          emit: (event) => {
            if (!reported.has(factory.proto)) reported.set(factory.proto, new Set());
            reported.get(factory.proto)!.add(event.type);
            ctx.emit(event);
          },
          expect: (expectation) => ctx.expect(expectation),
          anomaly: (name) => ctx.anomaly(name),
        }),
    }));
    const next: AppConsumer = { packet() {}, event() {}, flowEnd() {}, wantsEvents: () => true };
    for (const name of readdirSync(SAMPLES_DIR).filter((n) => /\.(pcap|pcapng)(\.gz)?$/.test(n))) {
      const pipeline = new Pipeline(new AppLayer(traced, next));
      const { source } = await openCapture(join(SAMPLES_DIR, name));
      const pkt = new CapturedPacket();
      do {
        while (source.next(pkt)) pipeline.process(pkt);
      } while (await source.refill());
      await source.close();
      pipeline.finish();
    }
    for (const factory of ANALYZERS) {
      const types = [...(reported.get(factory.proto) ?? [])];
      expect(types.length, `${factory.proto} reported nothing on the samples`).toBeGreaterThan(0);
      for (const type of types) expect(factory.events, `${factory.proto} reported ${type}`).toContain(type);
    }
  });
});
