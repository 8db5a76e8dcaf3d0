import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AnalyzerFactory } from '../../src/analyzers/analyzer.js';
import { AppLayer, MAX_RETRIES, RETRY_BYTES, type AppConsumer } from '../../src/analyzers/app-layer.js';
import type { AppEvent } from '../../src/analyzers/events.js';
import { ANALYZERS } from '../../src/analyzers/registry.js';
import { openCapture } from '../../src/capture/open-capture.js';
import { CapturedPacket } from '../../src/capture/packet.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { SAMPLES_DIR } from '../support/captures.js';
import { makeFlow } from '../support/detect-harness.js';
import { ADT, ORU, bytes, mllp } from './hl7-fixtures.js';
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

describe('the app layer on a flow it did not see from its start', () => {
  const external515 = (midstream: boolean) => {
    const flow = makeFlow({ client: '10.20.30.40', server: '198.51.100.23', serverPort: 515 });
    flow.midstream = midstream;
    return flow;
  };
  const hl7Events = (events: AppEvent[]) => events.filter((e) => e.type === 'hl7.message');
  /** The tail of a message: an OBX segment and the MLLP end, as a sensor started mid-message sees it. */
  const messageTail = bytes('OBX|2|NM|59408-5^Oxygen saturation^LN||98|%|90-100||||F\r\x1c\r');

  it('tries again on later bytes when the first ones, picked up mid-stream, showed nothing to resynchronise on', () => {
    const { layer, events } = layerWanting(true);
    const flow = external515(true);
    layer.data(flow, 0, messageTail);
    expect(flow.inspecting(0)).toBe(true);
    layer.data(flow, 0, mllp(ORU));
    expect(hl7Events(events)).toMatchObject([{ messageType: 'ORU', incomplete: ['midstream'] }]);
    expect(flow.appProto).toBe('hl7');
    expect(layer.stats.retries).toBe(1);
  });

  it('finds a message after the tail of another in the same bytes', () => {
    const { layer, events } = layerWanting(true);
    const flow = external515(true);
    layer.data(flow, 0, Uint8Array.from([...messageTail, ...mllp(ORU)]));
    expect(hl7Events(events)).toHaveLength(1);
    expect(layer.stats.retries).toBe(0);
  });

  it('gives up once the budget of bytes is spent, and counts it', () => {
    const { layer } = layerWanting(true);
    const flow = external515(true);
    const junk = new Uint8Array(1000).fill(0x41);
    for (let sent = 0; sent <= RETRY_BYTES + 1000 && flow.inspecting(0); sent += junk.length) layer.data(flow, 0, junk);
    expect(flow.inspecting(0)).toBe(false);
    expect(layer.stats.retriesExhausted).toBe(1);
  });

  it('gives up after a bounded number of attempts that made an analyzer', () => {
    const { layer } = layerWanting(true);
    const flow = external515(true);
    // Each chunk holds a CMS8000 sync block the analyzer resynchronises on, then bytes that are no blocks.
    const falseStart = Uint8Array.from([0x02, 0x00, 0x05, 0x47, ...new Uint8Array(5000).fill(0x41)]);
    for (let i = 0; i < 4 * MAX_RETRIES && flow.inspecting(0); i++) layer.data(flow, 0, falseStart);
    expect([layer.stats.retries, layer.stats.retriesExhausted, flow.inspecting(0)]).toEqual([MAX_RETRIES, 1, false]);
  });

  it('gives up at once, as before, on a flow seen from its start without loss that no analyzer wants', () => {
    const { layer } = layerWanting(true);
    const flow = external515(false);
    const hello = Uint8Array.from({ length: 48 }, (_, i) => (i < 3 ? [0x16, 0x03, 0x01][i] : (i * 37) & 0xff));
    layer.data(flow, 0, hello);
    expect([flow.inspecting(0), layer.stats.retries, layer.stats.retriesExhausted]).toEqual([false, 0, 0]);
  });

  it('after a gap, gives a flow every analyzer gave up on a further attempt', () => {
    const { layer, events } = layerWanting(true);
    const flow = external515(false);
    // The start of a TLS client hello: only LPD, still sampling, is left when the gap comes.
    layer.data(flow, 0, Uint8Array.of(0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0x5a));
    layer.gap(flow, 0, 1200);
    expect(events.map((e) => e.type)).toEqual(['lpd.not_lpd']);
    expect(flow.inspecting(0)).toBe(true);
    layer.data(flow, 0, mllp(ORU));
    expect(hl7Events(events)).toMatchObject([{ messageType: 'ORU' }]);
    expect(layer.stats.retries).toBe(1);
  });

  it('waits for the client after a server that spoke first only within the budget', () => {
    const { layer } = layerWanting(true);
    const flow = external515(false);
    const banner = bytes('220 ' + 'x'.repeat(996));
    for (let sent = 0; sent <= 2 * RETRY_BYTES && flow.inspecting(0); sent += banner.length) layer.data(flow, 1, banner);
    expect([flow.inspecting(0), layer.stats.retriesExhausted]).toEqual([false, 1]);
  });

  it('judges each direction on its own: a server banner before the client HL7 hides nothing', () => {
    for (const banner of ['220 HL7 gateway ready\r\n', '\x00']) {
      const { layer, events } = layerWanting(true);
      const flow = external515(false);
      layer.data(flow, 1, bytes(banner));
      expect(flow.inspecting(0), banner).toBe(true);
      layer.data(flow, 0, mllp(ORU));
      layer.data(flow, 1, mllp(ADT));
      layer.flowEnd(flow, 'closed');
      expect(hl7Events(events).map((e) => [e.dir, e.messageType]), JSON.stringify(banner)).toEqual([
        [0, 'ORU'],
        [1, 'ADT'],
      ]);
    }
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
