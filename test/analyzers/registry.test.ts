import { describe, expect, it } from 'vitest';
import { ANALYZERS, ANOMALIES, APP_PROTOS, EVENT_TYPES, eventDescriptor, PROTOCOLS, ruleFields } from '../../src/analyzers/registry.js';
import { rpcAnalyzer } from '../../src/analyzers/rpc/analyzer.js';
import { Prng } from '../../tools/craft/prng.js';
import { call, concat, MOUNT, record, reply, str } from './rpc-fixtures.js';
import { parseRuleFile } from '../../src/detect/rule-loader.js';
import { alertRecord, EVE_EXTENSION_KEYS } from '../../src/output/eve.js';
import { describeEvent } from '../../src/output/text.js';
import { EVENTS, makeAlert, PATIENT_STRINGS, schemaErrors } from '../output/fixtures.js';

/** A rule file with one rule evaluated on an event of `type` testing `field` (when given). */
function ruleOn(type: string, test: string): string {
  return ['rules:', '  - id: 9000001', '    name: probe', '    category: Test', '    severity: 3', '    match:', '      event:', `        type: ${type}`, ...(test === '' ? [] : [`        ${test}`])].join('\n') + '\n';
}

/** A value of the right kind for a field test. */
function sample(kind: string): string {
  return kind === 'number' || kind === 'numbers' ? '1' : kind === 'boolean' ? 'true' : 'x';
}

const COMMON_KEYS = new Set(['type', 'proto', 'dir', 'phi']);

describe('the protocol registry', () => {
  it('has a test event for every registered event type, and every field of it is declared', () => {
    for (const type of EVENT_TYPES) {
      const event = (EVENTS as unknown as Record<string, Record<string, unknown>>)[type];
      expect(event, `test fixture for ${type}`).toBeDefined();
      const declared = Object.keys(eventDescriptor(type)!.fields);
      for (const key of Object.keys(event)) if (!COMMON_KEYS.has(key)) expect(declared, `${type}.${key}`).toContain(key);
    }
  });

  it('lets a rule test every field an event declares testable, and refuses the others by name', () => {
    for (const type of EVENT_TYPES) {
      for (const [field, kind] of ruleFields(type)) {
        const parsed = parseRuleFile('probe.yaml', ruleOn(type, `${field}: ${sample(kind)}`));
        expect(Array.isArray(parsed) ? parsed : [], `${type}.${field}`).toEqual([]);
      }
      const untestable = Object.entries(eventDescriptor(type)!.fields).filter(([, kind]) => kind === null);
      for (const [field] of untestable) {
        const problems = parseRuleFile('probe.yaml', ruleOn(type, `${field}: 1`));
        expect(problems, `${type}.${field}`).toEqual([expect.stringMatching(new RegExp(`probe\\.yaml:9:9: event ${type.replace('.', '\\.')} has no field '${field}'`))]);
      }
    }
  });

  it('renders every event type as schema-valid EVE and as text, with no patient data unless asked', () => {
    for (const type of EVENT_TYPES) {
      const event = (EVENTS as Record<string, (typeof EVENTS)[keyof typeof EVENTS]>)[type];
      const redacted = alertRecord(makeAlert({ event }), { evidence: 'redacted' });
      expect(schemaErrors(redacted), type).toBe('');
      const evidenceKeys = Object.keys(redacted).filter((k) => !['timestamp', 'flow_id', 'pcap_cnt', 'event_type', 'src_ip', 'src_port', 'dest_ip', 'dest_port', 'proto', 'direction', 'alert', 'wardwatch', 'flow', 'app_proto'].includes(k));
      expect(evidenceKeys.length, `${type} has evidence in EVE`).toBeGreaterThan(0);
      const text = describeEvent(event);
      expect(text, type).not.toBe('');
      for (const phi of PATIENT_STRINGS) {
        expect(JSON.stringify(redacted), type).not.toContain(phi);
        expect(text, type).not.toContain(phi);
      }
      expect(schemaErrors(alertRecord(makeAlert({ event }), { evidence: 'full' })), type).toBe('');
    }
  });

  it('declares every EVE key its renderings add, and the rule schema knows every app_proto', () => {
    for (const protocol of PROTOCOLS) for (const key of protocol.eveExtensionKeys ?? []) expect(EVE_EXTENSION_KEYS).toContain(key);
    for (const proto of APP_PROTOS) {
      const text = ['rules:', '  - id: 9000001', '    name: probe', '    category: Test', '    severity: 3', '    match:', `      app_proto: [${proto}]`].join('\n') + '\n';
      expect(parseRuleFile('probe.yaml', text), proto).not.toBeInstanceOf(Array);
    }
    expect(parseRuleFile('probe.yaml', ruleOn('nosuch.event', ''))).toEqual([expect.stringContaining('unknown event type "nosuch.event"')]);
  });

  it('names each app_proto once and each event type once', () => {
    const names = PROTOCOLS.flatMap((p) => p.appProtos);
    expect(new Set(names).size).toBe(names.length);
    const types = PROTOCOLS.flatMap((p) => p.events.map((e) => e.type));
    expect(new Set(types).size).toBe(types.length);
    for (const p of PROTOCOLS) if (p.refines !== undefined) expect(names).toContain(p.refines);
  });

  it('counts only the anomalies the protocols declare, whatever bytes the analyzers are fed', () => {
    const seen = new Set<string>();
    const prng = new Prng(15);
    for (const factory of ANALYZERS) {
      for (const transport of factory.transports) {
        for (let round = 0; round < 200; round++) {
          const analyzer = factory.create({
            flow: { transport, clientPort: 40000, serverPort: 111 },
            evidence: 'redacted',
            emit() {},
            expect() {},
            anomaly: (name) => seen.add(name),
          });
          // Record marks and headers that look like RPC for a few bytes, then noise.
          const head = Uint8Array.of(0x80, 0, 0, prng.int(0, 255), 0, 0, 0, prng.int(0, 2), 0, 0, 0, prng.int(0, 1));
          for (let i = 0; i < 4; i++) {
            analyzer.data(0, i === 0 ? head : prng.bytes(prng.int(0, 299)));
            if (round % 3 === 0) analyzer.gap(1, prng.int(0, 99) + 1);
            analyzer.data(1, prng.bytes(prng.int(0, 299)));
          }
          analyzer.end();
        }
      }
    }
    // And the cases known to raise them: a lost record mark (resync), an unanswered reply, a bad datagram.
    for (const transport of ['tcp', 'udp'] as const) {
      const analyzer = rpcAnalyzer.create({ flow: { transport, clientPort: 800, serverPort: 635 }, evidence: 'redacted', emit() {}, expect() {}, anomaly: (name) => seen.add(name) });
      const recs = [1, 2, 3, 4].map((xid) => record(call({ xid, prog: MOUNT, vers: 3, proc: 1, args: str(`/export-${xid}`) })));
      if (transport === 'tcp') {
        const s = concat(...recs);
        analyzer.data(0, s.subarray(0, recs[0].length + 10));
        analyzer.gap(0, recs[1].length);
        analyzer.data(0, s.subarray(recs[0].length + recs[1].length + 10));
      } else {
        analyzer.data(0, call({ xid: 9, prog: MOUNT, vers: 3, proc: 1, args: str('/pm') }));
        analyzer.data(1, reply(77));
        analyzer.data(0, Uint8Array.of(1, 2, 3));
      }
      analyzer.end();
    }
    expect([...seen].sort()).toEqual(expect.arrayContaining(['rpc.malformed', 'rpc.resync', 'rpc.unmatched_reply']));
    for (const name of seen) expect(ANOMALIES).toContain(name);
  });
});
