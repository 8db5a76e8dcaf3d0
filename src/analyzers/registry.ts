/**
 * Every application protocol wardwatch knows, one line each. The rule schema, app_proto naming,
 * the outputs and the inventory read what is registered here; a new protocol is a folder with
 * its descriptor plus a line below (and its events in events.ts).
 */
import type { AnalyzerFactory } from './analyzer.js';
import { cms8000Protocol } from './cms8000/descriptor.js';
import { dicomProtocol } from './dicom/descriptor.js';
import type { AppEvent } from './events.js';
import { hl7Protocol } from './hl7/descriptor.js';
import { lpdProtocol } from './lpd/descriptor.js';
import type { EventDescriptor, ProtocolDescriptor } from './protocol.js';
import { mountProtocol, nfsProtocol, portmapProtocol, rpcProtocol } from './rpc/descriptor.js';

export const PROTOCOLS: readonly ProtocolDescriptor[] = [
  hl7Protocol,
  cms8000Protocol,
  lpdProtocol,
  rpcProtocol,
  portmapProtocol,
  mountProtocol,
  nfsProtocol,
  dicomProtocol,
];

/** The protocols that have an analyzer of their own: the keys of the config file's `app_layer:`. */
export const ANALYZED_PROTOCOLS: readonly string[] = PROTOCOLS.filter((p) => p.analyzer !== undefined).map((p) => p.name);

/** Every payload analyzer, tried on every flow of a transport it speaks. */
export const ANALYZERS: readonly AnalyzerFactory[] = analyzersExcept([]);

/** The analyzers of every protocol but those disabled in the configuration. */
export function analyzersExcept(disabled: readonly string[]): AnalyzerFactory[] {
  return PROTOCOLS.flatMap((p) => (p.analyzer === undefined || disabled.includes(p.name) ? [] : [p.analyzer]));
}

const EVENTS = new Map<string, EventDescriptor>();
/** The inventory label of the protocol each event type belongs to. */
const SPEAKER_LABELS = new Map<string, string>();
const CONCERN = new Map<string, number>();
const BY_APP_PROTO = new Map<string, ProtocolDescriptor>();
for (const protocol of PROTOCOLS) {
  for (const event of protocol.events) {
    if (EVENTS.has(event.type)) throw new Error(`event type ${event.type} is registered twice`);
    EVENTS.set(event.type, event);
    if (protocol.speaker !== undefined) SPEAKER_LABELS.set(event.type, protocol.speaker.label);
  }
  if (protocol.speaker !== undefined) CONCERN.set(protocol.speaker.label, protocol.speaker.concern);
  for (const name of protocol.appProtos) BY_APP_PROTO.set(name, protocol);
}
/** Protocols others are carried in: a flow claimed by one of them and by a refinement takes the refinement. */
const GENERIC = new Set(PROTOCOLS.flatMap((p) => (p.refines === undefined ? [] : [p.refines])));

/** Every event type, in registration order. */
export const EVENT_TYPES: readonly string[] = [...EVENTS.keys()];

/** The app_proto values a flow can have ('unknown': no analyzer recognised it). */
export const APP_PROTOS: readonly string[] = [...BY_APP_PROTO.keys(), 'unknown'];

/** Every anomaly counter the analyzers may raise, as `<protocol>.<anomaly>`. */
export const ANOMALIES: readonly string[] = PROTOCOLS.flatMap((p) => (p.anomalies ?? []).map((a) => `${p.name}.${a}`));

/** EVE top-level keys the registered renderings add beyond Suricata's schema. */
export const EVE_PROTOCOL_KEYS: readonly string[] = [...new Set(PROTOCOLS.flatMap((p) => p.eveExtensionKeys ?? []))];

export function eventDescriptor(type: string): EventDescriptor | undefined {
  return EVENTS.get(type);
}

/** Typed for callers that hold an AppEvent: every AppEvent type is registered. */
export function descriptorOf(event: AppEvent): EventDescriptor<AppEvent> {
  return EVENTS.get(event.type) as EventDescriptor<AppEvent>;
}

/** The fields of each event type that rules may test, with their kinds. */
export function ruleFields(type: string): ReadonlyArray<readonly [string, string]> {
  const fields = EVENTS.get(type)?.fields as Record<string, string | null> | undefined;
  if (fields === undefined) return [];
  return Object.entries(fields).filter((entry): entry is [string, string] => entry[1] !== null);
}

export function protocolOf(appProto: string): ProtocolDescriptor | undefined {
  return BY_APP_PROTO.get(appProto);
}

/** A more specific protocol replaces a generic one ('mount' beats 'rpc'), never the reverse. */
export function appProtoRank(proto: string): number {
  return proto === '' ? 0 : GENERIC.has(proto) ? 1 : 2;
}

/** How the inventory shows a speaker of an event's protocol ('DICOM'), if it lists them. */
export function speakerLabel(eventType: string): string | undefined {
  return SPEAKER_LABELS.get(eventType);
}

/** The protocols the inventory lists speakers of, as it shows them ('HL7', 'DICOM', 'CMS8000'). */
export function speakerProtocols(): string[] {
  return [...CONCERN.keys()];
}

/** How much a host speaking the protocol shown as `label` weighs among suspects. */
export function speakerConcern(label: string): number {
  return CONCERN.get(label) ?? 0;
}
