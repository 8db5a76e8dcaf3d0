import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../../src/decode/packet-view.js';
import { TO_CLIENT, TO_SERVER } from '../../src/flow/direction.js';
import { TCP_STATE_NAMES, TcpState } from '../../src/flow/flow.js';
import { DEFAULT_FLOW_TABLE_OPTIONS, DEFAULT_TIMEOUTS, FlowTable, flowHash, type FlowTableOptions } from '../../src/flow/flow-table.js';
import {
  Conversation,
  RecordingConsumer,
  feed,
  flowAddress,
  flowEndpoints,
  tcpView,
  udpView,
} from '../support/flow-harness.js';

const MONITOR = '10.0.0.1';
const BACKDOOR = '202.114.4.119';

function setup(options: Partial<FlowTableOptions> = {}) {
  const consumer = new RecordingConsumer();
  const table = new FlowTable(consumer, options);
  return { consumer, table };
}

function lpdConversation(extra: Partial<ConstructorParameters<typeof Conversation>[0]> = {}): Conversation {
  return new Conversation({ client: MONITOR, server: BACKDOOR, cport: 40000, sport: 515, ...extra });
}

describe('FlowTable client and server', () => {
  it('makes the SYN sender the client', () => {
    const { consumer, table } = setup();
    const conv = lpdConversation();
    feed(table, ...conv.handshake());
    const flow = consumer.only();
    expect(flowEndpoints(flow)).toEqual({ client: '10.0.0.1:40000', server: '202.114.4.119:515' });
    expect(flow.midstream).toBe(false);
    expect(consumer.events.map((e) => e.kind === 'packet' && e.dir)).toEqual([TO_SERVER, TO_CLIENT, TO_SERVER]);
  });

  it('makes the SYN-ACK receiver the client when the SYN was not seen', () => {
    const { consumer, table } = setup();
    const conv = lpdConversation();
    const [, synAck, ack] = conv.handshake();
    feed(table, synAck, ack, conv.send('client', 'data'));
    const flow = consumer.only();
    expect(flowEndpoints(flow)).toEqual({ client: '10.0.0.1:40000', server: '202.114.4.119:515' });
    expect(consumer.events.filter((e) => e.kind === 'packet').map((e) => e.kind === 'packet' && e.dir)).toEqual([TO_CLIENT, TO_SERVER, TO_SERVER]);
    expect(consumer.stream(flow, TO_SERVER)).toBe('data');
  });

  it('guesses the service port side as the server when picked up mid-stream', () => {
    const { consumer, table } = setup();
    feed(table, tcpView({ src: '10.0.0.5', dst: '10.0.0.9', sport: 515, dport: 40000, seq: 500, ack: 900, flags: 'PA', payload: 'reply' }));
    feed(table, tcpView({ src: '10.0.0.9', dst: '10.0.0.5', sport: 40000, dport: 515, seq: 900, ack: 505, flags: 'PA', payload: 'request' }));
    const flow = consumer.only();
    expect(flowEndpoints(flow)).toEqual({ client: '10.0.0.9:40000', server: '10.0.0.5:515' });
    expect(flow.midstream).toBe(true);
    expect(table.stats.midstream).toBe(1);
    expect(consumer.stream(flow, TO_CLIENT)).toBe('reply');
    expect(consumer.stream(flow, TO_SERVER)).toBe('request');
  });

  it('keeps the first sender as client mid-stream when it uses the service port as destination', () => {
    const { consumer, table } = setup();
    feed(table, tcpView({ src: '10.0.0.9', dst: '10.0.0.5', sport: 40000, dport: 515, seq: 900, flags: 'PA', payload: 'x' }));
    expect(flowEndpoints(consumer.only())).toEqual({ client: '10.0.0.9:40000', server: '10.0.0.5:515' });
  });

  it('takes the LPD port as the server mid-stream even when the client uses a reserved source port (RFC 1179: 721-731)', () => {
    const { consumer, table } = setup();
    feed(table, tcpView({ src: '10.0.0.5', dst: '10.0.0.9', sport: 515, dport: 721, seq: 500, flags: 'A' }));
    expect(flowEndpoints(consumer.only())).toEqual({ client: '10.0.0.9:721', server: '10.0.0.5:515' });
  });

  it('maps both directions of a connection to one flow', () => {
    const { consumer, table } = setup();
    const conv = lpdConversation();
    feed(table, ...conv.handshake(), conv.send('client', 'to server'), conv.send('server', 'to client'), conv.ackFrom('client'));
    expect(table.size).toBe(1);
    expect(table.stats.total).toBe(1);
    const flow = consumer.only();
    expect(consumer.stream(flow, TO_SERVER)).toBe('to server');
    expect(consumer.stream(flow, TO_CLIENT)).toBe('to client');
  });

  it('hashes both directions alike', () => {
    for (const [a, b] of [
      [MONITOR, BACKDOOR],
      ['2001:db8::10', '2001:db8:0:1::20'],
    ]) {
      const there = tcpView({ src: a, dst: b, sport: 40000, dport: 515, vlan: [12] });
      const back = tcpView({ src: b, dst: a, sport: 515, dport: 40000, vlan: [12] });
      expect(flowHash(back)).toBe(flowHash(there));
    }
  });
});

describe('FlowTable keys', () => {
  it('keeps the same 5-tuple on different VLANs apart', () => {
    const { consumer, table } = setup();
    const onTen = lpdConversation({ vlan: [10] });
    const onTwenty = lpdConversation({ vlan: [20] });
    feed(table, ...onTen.handshake(), ...onTwenty.handshake(), onTen.send('client', 'ten'), onTwenty.send('client', 'twenty'));
    expect(table.size).toBe(2);
    const [ten, twenty] = [...consumer.flows.values()];
    expect(ten.vlanIds.slice(0, ten.vlanCount)).toEqual([10]);
    expect(consumer.stream(ten, TO_SERVER)).toBe('ten');
    expect(consumer.stream(twenty, TO_SERVER)).toBe('twenty');
  });

  it('keeps flows apart that differ only in the inner VLAN id', () => {
    const { table } = setup();
    feed(table, ...lpdConversation({ vlan: [100, 1] }).handshake(), ...lpdConversation({ vlan: [100, 2] }).handshake(), ...lpdConversation().handshake());
    expect(table.size).toBe(3);
  });

  it('follows IPv6 connections', () => {
    const { consumer, table } = setup();
    const conv = new Conversation({ client: '2001:db8::10', server: '2001:db8:0:1::20', cport: 50000, sport: 2049 });
    feed(table, ...conv.handshake(), conv.send('client', 'MOUNT /pm'), conv.send('server', 'OK'), conv.ackFrom('client'));
    const flow = consumer.only();
    expect(flow.ipVersion).toBe(6);
    expect(flowAddress(flow, 0)).toBe('2001:db8:0:0:0:0:0:10');
    expect(flowAddress(flow, 1)).toBe('2001:db8:0:1:0:0:0:20');
    expect(flow.serverPort).toBe(2049);
    expect(flow.tcpState).toBe(TcpState.Established);
    expect(consumer.stream(flow, TO_SERVER)).toBe('MOUNT /pm');
    expect(consumer.stream(flow, TO_CLIENT)).toBe('OK');
  });

  it('keeps IPv4 and IPv6 flows apart even when their address words are equal', () => {
    const { table } = setup();
    // a00:1:: and a00:2:: put 10.0.0.1 and 10.0.0.2 in the first word and zeros in the others.
    feed(table, tcpView({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1000, dport: 80, flags: 'S' }));
    feed(table, tcpView({ src: 'a00:1::', dst: 'a00:2::', sport: 1000, dport: 80, flags: 'S' }));
    expect(table.size).toBe(2);
  });

  it('keeps IPv6 hosts of one /32 apart, and tells each direction of their flows', () => {
    const { consumer, table } = setup();
    // The first address word is the same for all three hosts: only the later words differ.
    const a = new Conversation({ client: '2001:db8::10', server: '2001:db8::20', cport: 50000, sport: 2575 });
    const b = new Conversation({ client: '2001:db8::11', server: '2001:db8::20', cport: 50000, sport: 2575 });
    feed(table, ...a.handshake(), ...b.handshake(), a.send('client', 'from a'), b.send('client', 'from b'), a.send('server', 'to a'));
    expect(table.size).toBe(2);
    const [fa, fb] = [...consumer.flows.values()];
    expect(consumer.stream(fa, TO_SERVER)).toBe('from a');
    expect(consumer.stream(fa, TO_CLIENT)).toBe('to a');
    expect(consumer.stream(fb, TO_SERVER)).toBe('from b');
    expect(consumer.stream(fb, TO_CLIENT)).toBe('');
  });

  it('keeps IPv6 flows apart whose hashes collide and whose addresses differ only after the first word', () => {
    // Search for two clients in one /32 whose flows to the same server hash alike.
    // (x in both of the last two words: the hash of one varying word alone never collides.)
    const half = (x: number) => `${(x >>> 16).toString(16)}:${(x & 0xffff).toString(16)}`;
    const client = (x: number) => `2001:db8:0:0:${half(x)}:${half(x)}`;
    const seen = new Map<number, number>();
    let pair: [number, number] | null = null;
    for (let x = 1; pair === null && x < 1 << 20; x++) {
      const hash = flowHash(tcpView({ src: client(x), dst: '2001:db8::20', sport: 50000, dport: 2575, flags: 'S' }));
      const earlier = seen.get(hash);
      if (earlier !== undefined) pair = [earlier, x];
      else seen.set(hash, x);
    }
    expect(pair).not.toBeNull();
    const { table } = setup();
    for (const x of pair!) feed(table, tcpView({ src: client(x), dst: '2001:db8::20', sport: 50000, dport: 2575, flags: 'S' }));
    expect(table.size).toBe(2);
  });

  it('keeps protocols apart on the same addresses and ports', () => {
    const { table } = setup();
    feed(table, tcpView({ src: MONITOR, dst: BACKDOOR, sport: 800, dport: 111, flags: 'S' }), udpView({ src: MONITOR, dst: BACKDOOR, sport: 800, dport: 111, payload: 'x' }));
    expect(table.size).toBe(2);
    expect(table.stats.tcp).toBe(1);
    expect(table.stats.udp).toBe(1);
  });
});

describe('FlowTable counters and TCP state', () => {
  it('counts packets and wire bytes per direction', () => {
    const { consumer, table } = setup();
    const conv = lpdConversation();
    const views = [...conv.handshake(), conv.send('client', 'x'.repeat(100)), conv.send('server', 'y'.repeat(7)), conv.ackFrom('client')];
    const expectedBytes = [0, 0];
    const fromClient = [true, false, true, true, false, true];
    views.forEach((v, i) => (expectedBytes[fromClient[i] ? 0 : 1] += v.wireLength));
    feed(table, ...views);
    const flow = consumer.only();
    expect([flow.packetsToServer, flow.packetsToClient]).toEqual([4, 2]);
    expect([flow.bytesToServer, flow.bytesToClient]).toEqual(expectedBytes);
    expect(expectedBytes[0]).toBe(3 * 40 + 140);
  });

  it('moves through syn_sent, syn_recv, established, closing and closed', () => {
    const { consumer, table } = setup();
    const states: string[] = [];
    consumer.onPacket = (flow) => states.push(TCP_STATE_NAMES[flow.tcpState]);
    const conv = lpdConversation();
    feed(table, ...conv.handshake(), conv.send('client', 'job'), conv.fin('client'), conv.ackFrom('server'), conv.fin('server'), conv.ackFrom('client'));
    expect(states).toEqual(['syn_sent', 'syn_recv', 'established', 'established', 'closing', 'closing', 'closed', 'closed']);
  });

  it('closes on RST', () => {
    const { consumer, table } = setup();
    const states: string[] = [];
    consumer.onPacket = (flow) => states.push(TCP_STATE_NAMES[flow.tcpState]);
    const conv = lpdConversation();
    feed(table, ...conv.handshake(), conv.send('client', 'job'), conv.raw('server', { flags: 'R', seq: conv.serverSeq }));
    expect(states.at(-1)).toBe('closed');
  });

  it('closes a refused connection (SYN answered by RST-ACK)', () => {
    const { consumer, table } = setup();
    const conv = lpdConversation();
    feed(table, conv.handshake()[0], conv.raw('server', { flags: 'RA', seq: 0, ack: conv.clientSeq }));
    expect(consumer.only().tcpState).toBe(TcpState.Closed);
  });

  it('follows a new connection that reuses the ports of a closed one', () => {
    const { consumer, table } = setup();
    const first = lpdConversation({ clientIsn: 1000, serverIsn: 5000 });
    feed(table, ...first.handshake(), first.send('client', 'first job;'), first.fin('client'), first.fin('server'), first.ackFrom('client'));
    const second = lpdConversation({ clientIsn: 900_000_000, serverIsn: 1_700_000_000, ts: 1005 });
    feed(table, ...second.handshake(), second.send('client', 'second job;'), second.send('server', 'ok'));
    const toServer = consumer.events.flatMap((e) => (e.kind === 'data' && e.dir === TO_SERVER ? [Buffer.from(e.bytes).toString('latin1')] : []));
    expect(toServer.join('')).toBe('first job;second job;');
    expect(consumer.events.filter((e) => e.kind === 'gap')).toEqual([]);
    const last = [...consumer.flows.values()].at(-1)!;
    expect(last.tcpState).toBe(TcpState.Established);
  });
});

describe('FlowTable time-outs', () => {
  it('ends a closed connection with reason closed after the closed time-out', () => {
    const { consumer, table } = setup();
    const conv = lpdConversation({ ts: 1000 });
    feed(table, ...conv.handshake(), conv.fin('client'), conv.fin('server'), conv.ackFrom('client'));
    table.advance(1000 + DEFAULT_TIMEOUTS.tcpClosed - 1);
    expect(table.size).toBe(1);
    table.advance(1000 + DEFAULT_TIMEOUTS.tcpClosed);
    expect(table.size).toBe(0);
    expect([...consumer.endReasons.values()]).toEqual(['closed']);
    expect(table.stats.endedClosed).toBe(1);
  });

  it('ends an idle established connection with reason timeout only after the established time-out', () => {
    const { consumer, table } = setup();
    const conv = lpdConversation({ ts: 1000 });
    feed(table, ...conv.handshake(), conv.send('client', 'hello'));
    table.advance(1000 + DEFAULT_TIMEOUTS.tcpNew);
    table.advance(1000 + DEFAULT_TIMEOUTS.tcpEstablished - 1);
    expect(consumer.endReasons.size).toBe(0);
    table.advance(1000 + DEFAULT_TIMEOUTS.tcpEstablished);
    expect([...consumer.endReasons.values()]).toEqual(['timeout']);
    expect(table.stats.endedTimeout).toBe(1);
  });

  it('restarts the idle time-out on every packet', () => {
    const { consumer, table } = setup();
    const conv = lpdConversation({ ts: 1000 });
    feed(table, ...conv.handshake());
    conv.ts = 1500;
    feed(table, conv.send('client', 'still here'));
    table.advance(1000 + DEFAULT_TIMEOUTS.tcpEstablished);
    expect(consumer.endReasons.size).toBe(0);
    table.advance(1500 + DEFAULT_TIMEOUTS.tcpEstablished);
    expect(consumer.endReasons.size).toBe(1);
  });

  it('ends an unanswered SYN after the new-connection time-out', () => {
    const { consumer, table } = setup();
    feed(table, tcpView({ src: MONITOR, dst: BACKDOOR, sport: 40000, dport: 515, flags: 'S', ts: 1000 }));
    table.advance(1000 + DEFAULT_TIMEOUTS.tcpNew - 1);
    expect(table.size).toBe(1);
    table.advance(1000 + DEFAULT_TIMEOUTS.tcpNew);
    expect([...consumer.endReasons.values()]).toEqual(['timeout']);
  });

  it('times UDP out on its own time-outs, one-way sooner than answered', () => {
    const { consumer, table } = setup();
    const tcp = lpdConversation({ ts: 1000 });
    feed(table, ...tcp.handshake());
    feed(table, udpView({ src: MONITOR, dst: BACKDOOR, sport: 800, dport: 111, payload: 'GETPORT', ts: 1000 }));
    feed(table, udpView({ src: MONITOR, dst: BACKDOOR, sport: 801, dport: 111, payload: 'GETPORT', ts: 1000 }));
    feed(table, udpView({ src: BACKDOOR, dst: MONITOR, sport: 111, dport: 801, payload: 'PORT', ts: 1000 }));
    const [tcpFlow, oneWay, answered] = [...consumer.flows.values()];
    table.advance(1000 + DEFAULT_TIMEOUTS.udpNew);
    expect([...consumer.endReasons]).toEqual([[oneWay.id, 'timeout']]);
    table.advance(1000 + DEFAULT_TIMEOUTS.udpEstablished - 1);
    expect(consumer.endReasons.has(answered.id)).toBe(false);
    table.advance(1000 + DEFAULT_TIMEOUTS.udpEstablished);
    expect(consumer.endReasons.get(answered.id)).toBe('timeout');
    expect(consumer.endReasons.has(tcpFlow.id)).toBe(false);
  });

  it('uses the time-outs given in its options', () => {
    const { consumer, table } = setup({ timeouts: { ...DEFAULT_TIMEOUTS, tcpEstablished: 120, udpNew: 5 } });
    const conv = lpdConversation({ ts: 1000 });
    feed(table, ...conv.handshake(), conv.send('client', 'x'));
    feed(table, udpView({ src: MONITOR, dst: BACKDOOR, sport: 800, dport: 111, payload: 'x', ts: 1000 }));
    table.advance(1005);
    expect(consumer.endReasons.size).toBe(1);
    table.advance(1119);
    expect(consumer.endReasons.size).toBe(1);
    table.advance(1120);
    expect(consumer.endReasons.size).toBe(2);
  });

  it('expires idle flows as packet time passes, without an explicit advance', () => {
    const { consumer, table } = setup();
    const conv = lpdConversation({ ts: 1000 });
    feed(table, ...conv.handshake());
    feed(table, udpView({ src: '10.0.0.7', dst: '10.0.0.8', sport: 5000, dport: 53, payload: 'q', ts: 1000 + DEFAULT_TIMEOUTS.tcpEstablished }));
    expect(consumer.endReasons.size).toBe(1);
    expect(table.size).toBe(1);
  });

  it('ends every flow at the end of input, flushing buffered stream data first', () => {
    const { consumer, table } = setup();
    const conv = lpdConversation();
    const views = [...conv.handshake(), conv.send('client', 'one;')];
    conv.send('client', 'lost;');
    views.push(conv.send('client', 'three;'));
    feed(table, ...views);
    feed(table, udpView({ src: MONITOR, dst: BACKDOOR, sport: 800, dport: 111, payload: 'x' }));
    const tcpFlow = [...consumer.flows.values()][0];
    expect(consumer.pieces(tcpFlow, TO_SERVER)).toEqual(['one;']);
    table.finish();
    expect(table.size).toBe(0);
    expect([...consumer.endReasons.values()]).toEqual(['end-of-input', 'end-of-input']);
    expect(table.stats.endedEndOfInput).toBe(2);
    expect(consumer.pieces(tcpFlow, TO_SERVER)).toEqual(['one;', 5, 'three;']);
    expect(consumer.eventsOf(tcpFlow).slice(-3).map((e) => e.kind)).toEqual(['gap', 'data', 'end']);
    expect(table.reassembly.bufferedBytes).toBe(0);
  });

  it('flushes buffered data of a reset connection when it is ended', () => {
    const { consumer, table } = setup();
    const conv = lpdConversation({ ts: 1000 });
    const views = [...conv.handshake(), conv.send('client', 'a;')];
    conv.send('client', 'b;');
    views.push(conv.send('client', 'c;'), conv.raw('client', { flags: 'R', seq: conv.clientSeq }));
    feed(table, ...views);
    table.advance(1000 + DEFAULT_TIMEOUTS.tcpClosed);
    const flow = consumer.only();
    expect(consumer.endReasons.get(flow.id)).toBe('closed');
    expect(consumer.pieces(flow, TO_SERVER)).toEqual(['a;', 2, 'c;']);
  });
});

describe('FlowTable eviction', () => {
  it('stays within maxFlows under a flood of 200 000 SYNs and never evicts a busy established flow', () => {
    const maxFlows = 10_000;
    const consumer = new RecordingConsumer();
    consumer.logPackets = false;
    consumer.keepEndedFlows = false;
    const table = new FlowTable(consumer, { maxFlows });
    const conv = lpdConversation({ ts: 1000 });
    feed(table, ...conv.handshake());
    const busy = consumer.only();
    const expected: string[] = [];
    // One reused view, as the decoder hands them over.
    const syn = tcpView({ src: '172.16.0.0', dst: BACKDOOR, sport: 1024, dport: 515, flags: 'S' });
    let maxSize = 0;
    for (let i = 0; i < 200_000; i++) {
      const ts = 1001 + i / 1000;
      syn.addr[0] = (0xac100000 + i) >>> 0;
      syn.srcPort = 1024 + (i % 60_000);
      syn.tcpSeq = Math.imul(i, 2654435761) >>> 0;
      syn.tsSec = Math.floor(ts);
      syn.tsNsec = Math.round((ts - syn.tsSec) * 1e9);
      table.process(syn);
      maxSize = Math.max(maxSize, table.size);
      if (i % 1000 === 999) {
        conv.ts = ts;
        const record = `record ${i};`;
        expected.push(record);
        feed(table, conv.send('client', record));
      }
    }
    expect(maxSize).toBeLessThanOrEqual(maxFlows);
    expect(table.stats.endedEvicted).toBeGreaterThanOrEqual(200_000 - maxFlows);
    expect(table.stats.refused).toBe(0);
    expect(consumer.endReasons.has(busy.id)).toBe(false);
    table.finish();
    expect(consumer.endReasons.get(busy.id)).toBe('end-of-input');
    expect(consumer.pieces(busy, TO_SERVER)).toEqual([expected.join('')]);
  });

  it('evicts unanswered connections first, then closed ones, before an older established one', () => {
    const { consumer, table } = setup({ maxFlows: 3 });
    const established = lpdConversation({ cport: 1, ts: 1000 });
    feed(table, ...established.handshake(), established.send('client', 'x'));
    const reset = lpdConversation({ cport: 2, ts: 1001 });
    feed(table, ...reset.handshake(), reset.raw('server', { flags: 'R', seq: reset.serverSeq }));
    feed(table, tcpView({ src: MONITOR, dst: BACKDOOR, sport: 3, dport: 515, flags: 'S', ts: 1002 }));
    // Ids, not the flows: the table reuses an evicted flow's object for the next one.
    const [a, b, c] = [...consumer.flows.values()].map((f) => f.id);
    // Full: the half-open connection goes, though it is the most recent.
    feed(table, tcpView({ src: MONITOR, dst: BACKDOOR, sport: 4, dport: 515, flags: 'S', ts: 1003 }));
    expect([...consumer.endReasons]).toEqual([[c, 'evicted']]);
    // With no half-open or one-way flow left, the closed one goes before the established one.
    const second = setup({ maxFlows: 2 });
    const older = lpdConversation({ cport: 1, ts: 1000 });
    feed(second.table, ...older.handshake(), older.send('client', 'x'));
    const closed = lpdConversation({ cport: 2, ts: 1001 });
    feed(second.table, ...closed.handshake(), closed.raw('server', { flags: 'R', seq: closed.serverSeq }));
    const [keep, gone] = [...second.consumer.flows.values()].map((f) => f.id);
    feed(second.table, tcpView({ src: MONITOR, dst: BACKDOOR, sport: 3, dport: 515, flags: 'S', ts: 1002 }));
    expect([...second.consumer.endReasons]).toEqual([[gone, 'evicted']]);
    expect(second.consumer.endReasons.has(keep)).toBe(false);
    expect(consumer.endReasons.has(a) || consumer.endReasons.has(b)).toBe(false);
    expect(table.size).toBe(3);
  });

  it('evicts the least recently seen half-open connection, even among those seen within one second', () => {
    const { consumer, table } = setup({ maxFlows: 2 });
    const syn = (sport: number, ts: number) => tcpView({ src: MONITOR, dst: BACKDOOR, sport, dport: 515, flags: 'S', ts });
    feed(table, syn(1, 1000.1), syn(2, 1000.2));
    const [a, b] = [...consumer.flows.values()].map((f) => f.id);
    feed(table, syn(1, 1000.3)); // a's SYN again: a is now the more recently seen
    feed(table, syn(3, 1000.4));
    expect([...consumer.endReasons]).toEqual([[b, 'evicted']]);
    expect(consumer.endReasons.has(a)).toBe(false);
  });

  it('evicts the least recently seen flow when every flow is established', () => {
    const { consumer, table } = setup({ maxFlows: 2 });
    const older = lpdConversation({ cport: 1, ts: 1000 });
    const newer = lpdConversation({ cport: 2, ts: 1001 });
    feed(table, ...older.handshake(), ...newer.handshake());
    const [a] = [...consumer.flows.values()].map((f) => f.id);
    feed(table, tcpView({ src: MONITOR, dst: BACKDOOR, sport: 3, dport: 515, flags: 'S', ts: 1002 }));
    expect([...consumer.endReasons]).toEqual([[a, 'evicted']]);
    expect(table.stats.refused).toBe(0);
  });

  it('gives every flow a unique integer id below 2^51', () => {
    const consumer = new RecordingConsumer();
    consumer.logPackets = false;
    const table = new FlowTable(consumer, { maxFlows: 1_000 });
    const view = udpView({ src: '10.0.0.0', dst: BACKDOOR, sport: 1, dport: 111, ts: 1000 });
    const ids = new Set<number>();
    consumer.onPacket = (flow) => ids.add(flow.id);
    for (let i = 0; i < 100_000; i++) {
      view.addr[0] = (0x0a000000 + i) >>> 0;
      table.process(view);
    }
    expect(ids.size).toBe(100_000);
    for (const id of ids) {
      expect(Number.isSafeInteger(id) && id > 0 && id < 2 ** 51).toBe(true);
    }
  });
});

describe('FlowTable inspection control', () => {
  it('stops delivering one direction after stopInspection, and keeps the other', () => {
    const { consumer, table } = setup();
    const conv = lpdConversation();
    feed(table, ...conv.handshake(), conv.send('client', 'c1;'), conv.send('server', 's1;'));
    const flow = consumer.only();
    flow.stopInspection(TO_SERVER);
    const buffered = [conv.send('client', 'c2;')];
    conv.send('client', 'lost;');
    buffered.push(conv.send('client', 'c4;'));
    feed(table, ...buffered, conv.send('server', 's2;'), conv.ackFrom('server'));
    expect(table.reassembly.bufferedBytes).toBe(0);
    table.finish();
    expect(consumer.pieces(flow, TO_SERVER)).toEqual(['c1;']);
    expect(consumer.pieces(flow, TO_CLIENT)).toEqual(['s1;s2;']);
    expect(flow.packetsToServer).toBe(5);
  });

  it('stops a direction the consumer gives up on from inside its data callback', () => {
    const { consumer, table } = setup();
    consumer.onData = (flow, dir) => flow.stopInspection(dir);
    const conv = lpdConversation();
    const handshake = conv.handshake();
    const first = conv.send('client', 'first;');
    const later = conv.send('client', 'later;');
    feed(table, ...handshake, later, first, conv.send('client', 'more;'));
    expect(consumer.pieces(consumer.only(), TO_SERVER)).toEqual(['first;']);
    expect(table.reassembly.bufferedBytes).toBe(0);
  });

  it('stops delivering UDP datagrams after stopInspection', () => {
    const { consumer, table } = setup();
    const datagram = (payload: string) => udpView({ src: MONITOR, dst: BACKDOOR, sport: 800, dport: 111, payload });
    feed(table, datagram('one'), datagram('two'));
    const flow = consumer.only();
    flow.stopInspection();
    feed(table, datagram('three'));
    expect(consumer.eventsOf(flow).filter((e) => e.kind === 'data').length).toBe(2);
    expect(consumer.stream(flow, TO_SERVER)).toBe('onetwo');
    expect(flow.packetsToServer).toBe(3);
  });
});

describe('FlowTable malformed TCP', () => {
  it('never throws on impossible flags, zero windows and wild sequence numbers, and counts the impossible flags', () => {
    const { consumer, table } = setup();
    const conv = lpdConversation();
    feed(table, ...conv.handshake(), conv.send('client', 'ok;'));
    const cases: Array<[string, Partial<Parameters<typeof tcpView>[0]>, boolean]> = [
      ['SYN+FIN', { flags: 'SF', seq: conv.clientSeq }, true],
      ['SYN+RST', { flags: 'SR', seq: conv.clientSeq }, true],
      ['no flags', { flags: '', seq: conv.clientSeq, payload: 'null' }, true],
      ['every flag', { flags: 0xff, seq: conv.clientSeq, payload: 'xmas' }, true],
      ['PSH alone', { flags: 'P', seq: conv.clientSeq, payload: 'psh' }, true],
      ['zero window', { flags: 'A', seq: conv.clientSeq, window: 0 }, false],
      ['jump of 2^31', { flags: 'PA', seq: (conv.clientSeq + 2 ** 31) >>> 0, payload: 'far' }, false],
      ['seq 2^32-1', { flags: 'PA', seq: 0xffffffff, payload: 'edge' }, false],
      ['ack far ahead', { flags: 'A', seq: conv.clientSeq, ack: (conv.serverSeq + 3e9) >>> 0 }, false],
      ['RST with data', { flags: 'R', seq: conv.clientSeq, payload: 'diag' }, false],
      ['SYN with data', { flags: 'S', seq: 42, payload: 'syn data' }, false],
      ['huge cut segment', { flags: 'PA', seq: conv.clientSeq, payload: 'cut', payloadWireLength: 65_495 }, false],
    ];
    for (const [name, fields, _invalid] of cases) {
      expect(() => feed(table, conv.raw('client', fields)), name).not.toThrow();
      expect(() => feed(table, tcpView({ src: '10.9.9.9', dst: BACKDOOR, sport: 31337, dport: 515, ts: 1000, ...fields })), `${name} opening a flow`).not.toThrow();
    }
    expect(table.stats.tcpInvalidFlags).toBe(2 * cases.filter(([, , invalid]) => invalid).length);
    expect(() => table.finish()).not.toThrow();
    expect(table.reassembly.bufferedBytes).toBe(0);
    expect(consumer.stream(consumer.flows.values().next().value!, TO_SERVER).startsWith('ok;')).toBe(true);
  });

  it('survives random TCP packets between two hosts with bounded buffering', () => {
    const impossible = (f: number): boolean => (f & (TCP_SYN | TCP_FIN | TCP_RST | TCP_ACK)) === 0 || ((f & TCP_SYN) !== 0 && (f & (TCP_FIN | TCP_RST)) !== 0);
    const packet = fc.record({
      fromClient: fc.boolean(),
      flags: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x10, 0x18, 0x02, 0x12, 0x11, 0x04)),
      seq: fc.oneof(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 0xffffffff })),
      ack: fc.oneof(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 0xffffffff })),
      payload: fc.uint8Array({ maxLength: 60 }),
      cut: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2000 })),
      dt: fc.integer({ min: 0, max: 120 }),
    });
    fc.assert(
      fc.property(fc.array(packet, { maxLength: 80 }), (packets) => {
        const { consumer, table } = setup({ reassembly: { ...DEFAULT_FLOW_TABLE_OPTIONS.reassembly, maxBufferedPerStream: 300, memcap: 500 } });
        let ts = 1000;
        let invalid = 0;
        for (const p of packets) {
          ts += p.dt;
          if (impossible(p.flags)) invalid++;
          const ends = p.fromClient ? { src: MONITOR, dst: BACKDOOR, sport: 40000, dport: 515 } : { src: BACKDOOR, dst: MONITOR, sport: 515, dport: 40000 };
          feed(table, tcpView({ ...ends, flags: p.flags, seq: p.seq, ack: p.ack, payload: p.payload, payloadWireLength: p.payload.length + p.cut, ts }));
          expect(table.reassembly.bufferedBytes).toBeGreaterThanOrEqual(0);
          expect(table.reassembly.bufferedBytes).toBeLessThanOrEqual(500);
        }
        table.finish();
        expect(table.stats.tcpInvalidFlags).toBe(invalid);
        expect(table.size).toBe(0);
        expect(table.reassembly.bufferedBytes).toBe(0);
        expect(consumer.endReasons.size).toBe(table.stats.total);
      }),
      { numRuns: 300 },
    );
  });
});

describe('FlowTable UDP', () => {
  it('hands on each datagram whole, per direction', () => {
    const { consumer, table } = setup();
    feed(
      table,
      udpView({ src: MONITOR, dst: BACKDOOR, sport: 800, dport: 111, payload: 'call' }),
      udpView({ src: BACKDOOR, dst: MONITOR, sport: 111, dport: 800, payload: 'reply' }),
      udpView({ src: MONITOR, dst: BACKDOOR, sport: 800, dport: 111, payload: '' }),
    );
    const flow = consumer.only();
    expect(flowEndpoints(flow)).toEqual({ client: '10.0.0.1:800', server: '202.114.4.119:111' });
    const data = consumer.eventsOf(flow).filter((e) => e.kind === 'data');
    expect(data.map((e) => e.kind === 'data' && [e.dir, Buffer.from(e.bytes).toString('latin1')])).toEqual([
      [TO_SERVER, 'call'],
      [TO_CLIENT, 'reply'],
    ]);
    expect([flow.packetsToServer, flow.packetsToClient]).toEqual([2, 1]);
  });
});
