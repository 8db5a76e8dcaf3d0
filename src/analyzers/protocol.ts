/**
 * What one application protocol registers, once, in one place (like Suricata's AppLayerParser
 * registration with its per-protocol detect and log files, or a Zeek analyzer component): its
 * analyzer and first-payload glance, its app_proto names, its events with the fields rules may
 * test, how EVE and text render those events, its anomaly counters, and what the inventory learns
 * from them. The rule schema, app_proto naming, the outputs and the inventory read the registry
 * (registry.ts); nothing else names a protocol.
 */
import type { AnalyzerFactory } from './analyzer.js';
import type { Direction } from '../flow/direction.js';

/** What every analyzer event carries. */
export interface EventBase {
  readonly type: string;
  /** The application protocol of the analyzer that reported it. */
  readonly proto: string;
  readonly dir: Direction;
}

/** How a rule may test an event field (see detect/rule-schema.ts). */
export type FieldKind = 'string' | 'number' | 'boolean' | 'strings' | 'numbers';

/**
 * Every field of an event but type/proto/dir/phi, with the kind a rule may test, or null when
 * rules may not test it. Being a complete record, the compiler refuses an event descriptor that
 * forgets a field.
 */
export type FieldTable<E> = { readonly [K in Exclude<keyof E, 'type' | 'proto' | 'dir' | 'phi'>]-?: FieldKind | null };

/** An EVE object tree, as rendered. */
export type EveObject = Record<string, unknown>;

/** A name an event says a host goes by (HL7 MSH-3|MSH-4, a DICOM AE title); never patient data. */
export interface HostName {
  /** The flow's client or server, or the event's sender or receiver. */
  readonly host: 'client' | 'server' | 'sender' | 'receiver';
  /** '' when the evidence mode leaves names out: the host still speaks the protocol. */
  readonly name: string;
}

export interface EventDescriptor<E extends EventBase = EventBase> {
  readonly type: E['type'];
  /** One line on what the event is, for `rules check --events` and the README. */
  readonly summary: string;
  readonly fields: FieldTable<E>;
  /** The application protocol the event proves on its flow ('mount' for a MOUNT call), if any. */
  proves?(event: E): string | null;
  /**
   * EVE: the event's evidence objects keyed by their top-level name (a Suricata name where it has
   * one); details Suricata has no name for go into `extension` (the alert's `wardwatch` object).
   * Patient data (`phi`) is copied only when `mode` is 'full', field by field.
   */
  eve(event: E, mode: 'redacted' | 'full', extension: EveObject): EveObject;
  /** Text: the key evidence in a few words, structure only, never patient data. */
  text(event: E): string;
  /** The hosts the event shows speaking the protocol, and their names: the inventory lists them. */
  names?(event: E): readonly HostName[];
}

export interface ProtocolDescriptor {
  /** The protocol's own name, as in `app_layer.<name>` config keys and anomaly names. */
  readonly name: string;
  /** The app_proto values it can give a flow. */
  readonly appProtos: readonly string[];
  /**
   * The protocol it is carried in, for one decoded inside another's analyzer (MOUNT inside RPC):
   * a flow claimed by both is named by the more specific.
   */
  readonly refines?: string;
  /** Absent for what another analyzer decodes (RPC programs run inside the RPC analyzer). */
  readonly analyzer?: AnalyzerFactory;
  readonly events: ReadonlyArray<EventDescriptor<any>>;
  /** EVE top-level keys its renderings add beyond Suricata's schema (e.g. 'hl7'). */
  readonly eveExtensionKeys?: readonly string[];
  /** Anomaly counters (Zeek's weirds) its analyzer may raise, reported in stats as `<name>.<anomaly>`. */
  readonly anomalies?: readonly string[];
  /**
   * How the inventory shows a host that speaks it ('CMS8000'): the client of a flow named by it,
   * and every host its events name. `concern` orders suspects (indicator contact weighs 4).
   */
  readonly speaker?: { readonly label: string; readonly concern: number };
}

/** Typed helper: checks an event descriptor against its event type. */
export function defineEvent<E extends EventBase>(descriptor: EventDescriptor<E>): EventDescriptor<E> {
  return descriptor;
}

/** An EVE object of only the fields that are set: undefined and '' are left out, arrays copied. */
export function eveFields(fields: Record<string, unknown>): EveObject {
  const out: EveObject = {};
  for (const key in fields) {
    const value = fields[key];
    if (value === undefined || value === '') continue;
    out[key] = Array.isArray(value) ? [...value] : value;
  }
  return out;
}
