import { describe, expect, it } from 'vitest';
import { TO_CLIENT, TO_SERVER } from '../../src/flow/direction.js';
import { FlowTable } from '../../src/flow/flow-table.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Conversation, RecordingConsumer, copyView, ethernetCapture, feed, flowEndpoints, rawCapture } from '../support/flow-harness.js';

/** An HL7 v2 result in MLLP framing, with clearly fake patient data. */
const HL7 =
  '\x0bMSH|^~\\&|MONITOR|ICU|CENTRAL|HOSP|20250130120000||ORU^R01|MSG00001|P|2.3\r' +
  'PID|1||TEST-0001||TEST^PATIENT\r' +
  'OBX|1|NM|8867-4^HEART RATE||72|/min\r' +
  '\x1c\r';
const HL7_ACK = '\x0bMSH|^~\\&|CENTRAL|HOSP|MONITOR|ICU|20250130120001||ACK|MSG00002|P|2.3\rMSA|AA|MSG00001\r\x1c\r';

function hl7Conversation(): Conversation {
  return new Conversation({ client: '10.0.0.1', server: '10.20.0.5', cport: 41000, sport: 2575, clientIsn: 0xfffffff0, serverIsn: 77 });
}

describe('TCP reassembly end to end', () => {
  it('delivers an HL7 message split over three segments arriving 2, 3, 1 with segment 2 retransmitted, exactly once and in order', () => {
    const consumer = new RecordingConsumer();
    const table = new FlowTable(consumer);
    const conv = hl7Conversation();
    const handshake = conv.handshake();
    const parts = [HL7.slice(0, 30), HL7.slice(30, 75), HL7.slice(75)];
    const [one, two, three] = parts.map((p) => conv.send('client', p));
    const twoAgain = copyView(two);
    feed(table, ...handshake, two, three);
    expect(consumer.stream(consumer.only(), TO_SERVER)).toBe('');
    feed(table, one, twoAgain, conv.send('server', HL7_ACK), conv.ackFrom('client'));
    const flow = consumer.only();
    expect(flowEndpoints(flow)).toEqual({ client: '10.0.0.1:41000', server: '10.20.0.5:2575' });
    expect(consumer.pieces(flow, TO_SERVER)).toEqual([HL7]);
    expect(consumer.pieces(flow, TO_CLIENT)).toEqual([HL7_ACK]);
    const delivered = consumer.eventsOf(flow).filter((e) => e.kind === 'data' && e.dir === TO_SERVER);
    expect(delivered.reduce((n, e) => n + (e.kind === 'data' ? e.bytes.length : 0), 0)).toBe(HL7.length);
    table.finish();
    expect(consumer.pieces(flow, TO_SERVER)).toEqual([HL7]);
    expect(table.reassembly.retransmissions).toBe(1);
  });

  it('delivers the same exchange once through the pipeline when the mirror port shows every frame twice on two VLANs', () => {
    const consumer = new RecordingConsumer();
    const pipeline = new Pipeline(consumer);
    const conv = hl7Conversation();
    const views = [...conv.handshake(), ...[HL7.slice(0, 30), HL7.slice(30, 75), HL7.slice(75)].map((p) => conv.send('client', p)), conv.send('server', HL7_ACK), conv.ackFrom('client')];
    for (const view of views) {
      const packet = view.ipBuf.slice(view.ipOffset, view.ipOffset + view.ipCapturedLength);
      pipeline.process(ethernetCapture(packet, [10], view.tsSec, view.tsNsec));
      pipeline.process(ethernetCapture(packet, [20], view.tsSec, view.tsNsec + 4_000));
    }
    pipeline.finish();
    const flow = consumer.only();
    expect(flow.vlanIds.slice(0, flow.vlanCount)).toEqual([10]);
    expect(consumer.pieces(flow, TO_SERVER)).toEqual([HL7]);
    expect(consumer.pieces(flow, TO_CLIENT)).toEqual([HL7_ACK]);
    expect(pipeline.dedup.stats.suppressed).toBe(views.length);
    expect(consumer.endReasons.get(flow.id)).toBe('end-of-input');
  });

  it('reports bytes the snap length cut from a captured frame as a gap of exactly that size', () => {
    const consumer = new RecordingConsumer();
    const pipeline = new Pipeline(consumer);
    const conv = hl7Conversation();
    const views = [...conv.handshake(), conv.send('client', HL7.slice(0, 20), { payloadWireLength: 50 }), conv.send('client', HL7.slice(50))];
    for (const view of views) pipeline.process(rawCapture(view.ipBuf.slice(0, view.ipCapturedLength), view));
    pipeline.finish();
    expect(consumer.pieces(consumer.only(), TO_SERVER)).toEqual([HL7.slice(0, 20), 30, HL7.slice(50)]);
    expect(pipeline.decoder.stats.truncatedBySnaplen).toBe(1);
  });

  it('absorbs same-VLAN mirror copies as retransmissions when de-duplication is off', () => {
    const consumer = new RecordingConsumer();
    const pipeline = new Pipeline(consumer, { dedup: { enabled: false, windowMs: 1 } });
    const conv = hl7Conversation();
    const views = [...conv.handshake(), conv.send('client', HL7.slice(0, 40)), conv.send('client', HL7.slice(40))];
    for (const view of views) {
      const packet = view.ipBuf.slice(0, view.ipCapturedLength);
      pipeline.process(rawCapture(packet, view));
      pipeline.process(rawCapture(packet.slice(), view));
    }
    pipeline.finish();
    const flow = consumer.only();
    expect(consumer.pieces(flow, TO_SERVER)).toEqual([HL7]);
    expect(flow.packetsToServer).toBe(8);
    expect(pipeline.flows.reassembly.retransmissions).toBe(2);
  });

  it('reassembles an IPv6 connection through the pipeline', () => {
    const consumer = new RecordingConsumer();
    const pipeline = new Pipeline(consumer);
    const conv = new Conversation({ client: 'fd00::1', server: 'fd00::2', cport: 50000, sport: 2575 });
    const [syn, synAck, ack] = conv.handshake();
    const one = conv.send('client', HL7.slice(0, 60));
    const two = conv.send('client', HL7.slice(60));
    for (const view of [syn, synAck, ack, two, one]) pipeline.process(rawCapture(view.ipBuf.slice(0, view.ipCapturedLength), view));
    const flow = consumer.only();
    expect(flow.ipVersion).toBe(6);
    expect(consumer.pieces(flow, TO_SERVER)).toEqual([HL7]);
  });
});
