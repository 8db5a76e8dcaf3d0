import { z } from 'zod';
import { APP_PROTOS, EVENT_TYPES, ruleFields } from '../analyzers/registry.js';

/**
 * The rule file format, as data. A rule file holds `rules:` and optionally `thresholds:` and
 * `suppressions:` (the equivalent of Suricata's threshold.config).
 */

/** Analyzer events a rule can name, with the fields it can test: what the protocols registered. */
export const EVENT_FIELDS: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
  EVENT_TYPES.map((type) => [type, ruleFields(type).map(([name]) => name)]),
);

const scalar = z.union([z.string(), z.number(), z.boolean()]);

/** A field test: a value, any of a list, or a string operator. */
const fieldTest = z.union(
  [
    scalar,
    z.array(scalar).min(1),
    z.strictObject({ prefix: z.string() }),
    z.strictObject({ contains: z.string() }),
    z.strictObject({ not: z.union([scalar, z.array(scalar).min(1)]) }),
  ],
  { error: 'a field test is a value, a list of values, or one of {prefix: text}, {contains: text}, {not: value or list}' },
);

/** Names what is wrong with an event's `type`: missing, or which of its names are unknown. */
function eventTypeProblem(input: unknown): string {
  const known = `(known: ${EVENT_TYPES.join(', ')})`;
  if (input === undefined || input === null) return `an event needs a type ${known}`;
  const unknown = (Array.isArray(input) ? input : [input]).filter((t) => typeof t !== 'string' || !EVENT_TYPES.includes(t));
  return `unknown event type ${unknown.map((t) => JSON.stringify(t)).join(', ')} ${known}`;
}

const eventName = z.enum(EVENT_TYPES as [string, ...string[]], { error: (issue) => eventTypeProblem(issue.input) });

/** Marks a custom problem as one about a key, so it is reported where the key stands. */
const AT_KEY = { atKey: true };

/** `type` names one event or several; other keys test the event's fields. */
const eventMatch = z
  .object({
    type: z.union([eventName, z.array(eventName).min(1)], { error: (issue) => eventTypeProblem(issue.input) }),
  })
  .catchall(fieldTest)
  .superRefine((value, ctx) => {
    const types = Array.isArray(value.type) ? value.type : [value.type];
    for (const key of Object.keys(value)) {
      if (key === 'type') continue;
      if (!types.every((t) => EVENT_FIELDS[t].includes(key))) {
        ctx.addIssue({ code: 'custom', path: [key], params: AT_KEY, message: `event ${types.join('/')} has no field '${key}' (fields: ${[...new Set(types.flatMap((t) => EVENT_FIELDS[t]))].join(', ') || 'none'})` });
      }
    }
  });

/** Addresses: an IP, a CIDR, $HOME_NET, $EXTERNAL_NET, any, each negatable with '!'; or a list. */
const addressSpec = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)], {
  error: 'addresses are an IP, a CIDR, $HOME_NET, $EXTERNAL_NET or any (each may be negated with !), or a list of those',
});
/** Ports: 515, "515-520", "!80", or a list of those. */
const portSpec = z.union([z.number().int(), z.string().min(1), z.array(z.union([z.number().int(), z.string().min(1)])).min(1)], {
  error: 'ports are a number, a range like 515-520, a negation like !80, or a list of those',
});

/** A host role's name, as `host_roles:` defines it and `server_role` names it. */
const roleName = z.string().regex(/^[a-z][a-z0-9_]*$/, 'a role name is lower case letters, digits and _');

const match = z
  .strictObject({
    proto: z.enum(['any', 'ip', 'tcp', 'udp', 'icmp']).optional(),
    client: addressSpec.optional(),
    server: addressSpec.optional(),
    client_port: portSpec.optional(),
    server_port: portSpec.optional(),
    /** Direction of the packet or event that triggers the rule. */
    direction: z.enum(['to_server', 'to_client', 'any']).optional(),
    /** Either end (or the named one) is on an indicator list. */
    indicator: z.enum(['client', 'server', 'either']).optional(),
    app_proto: z.array(z.enum(APP_PROTOS as [string, ...string[]])).min(1).optional(),
    not_app_proto: z.array(z.enum(APP_PROTOS as [string, ...string[]])).min(1).optional(),
    /** The analyzer event that triggers the rule. */
    event: eventMatch.optional(),
    /** Event types that must have been seen on the flow before the rule is evaluated. */
    seen: z.array(eventName).min(1).optional(),
    /** Do not fire on a flow where one of these rules already alerted. */
    unless_alerted: z.array(z.number().int().min(1)).min(1).optional(),
    /** Do not fire if such an event was seen on any flow between the same two hosts. */
    unless_seen_between_hosts: eventMatch.optional(),
    /**
     * The server holds this host role (see `host_roles:`). When it is not known to hold it yet,
     * the flow waits: the alert is raised, with the flow's own time, once the server is identified.
     */
    server_role: roleName.optional(),
    /**
     * When the rule is evaluated: on each packet, on each analyzer event, or when the flow ends
     * (for rules about what a flow turned out to be, or what never happened on it).
     */
    at: z.enum(['packet', 'event', 'flow_end']).optional(),
  })
  .superRefine((m, ctx) => {
    const at = m.at ?? (m.event ? 'event' : 'packet');
    if (at === 'event' && !m.event) ctx.addIssue({ code: 'custom', path: ['at'], message: "'at: event' needs an 'event' to match" });
    if (at !== 'event' && m.event) ctx.addIssue({ code: 'custom', path: ['event'], params: AT_KEY, message: `'event' only triggers rules evaluated 'at: event', not '${at}' (use 'seen' instead)` });
  });

const severity = z.union([z.literal(1), z.literal(2), z.literal(3)], { error: 'severity is 1 (high), 2 (medium) or 3 (low)' });

export const ruleSchema = z.strictObject({
  id: z.number().int().min(1).max(4294967295),
  rev: z.number().int().min(1).default(1),
  name: z.string().min(1),
  category: z.string().min(1),
  severity: severity,
  /** Severity when the only indicator matched is a CIDR, not an exact address. */
  severity_cidr_only: severity.optional(),
  references: z.array(z.string().min(1)).default([]),
  /** Severity by IP protocol, where it differs from `severity` (e.g. `{udp: 1}`). */
  severity_by_proto: z.strictObject({ tcp: severity.optional(), udp: severity.optional(), icmp: severity.optional() }).optional(),
  /** Text added to the alert when the indicator address lies inside HOME_NET. */
  note_indicator_in_home_net: z.string().optional(),
  /** 'once' (default): at most one alert per flow; 'every': each match may alert. */
  per_flow: z.enum(['once', 'every']).default('once'),
  enabled: z.boolean().default(true),
  match,
});

const track = z.enum(['by_src', 'by_dst', 'by_rule', 'by_both']);

const thresholdSchema = z.strictObject({
  id: z.number().int().min(1),
  type: z.enum(['limit', 'threshold', 'both']),
  track,
  count: z.number().int().min(1),
  seconds: z.number().int().min(1),
});

const suppressionSchema = z.strictObject({
  id: z.number().int().min(1),
  track: z.enum(['by_src', 'by_dst', 'by_either']).optional(),
  ip: addressSpec.optional(),
});

/**
 * A kind of host rules can ask about (`server_role`): one the user lists (`listed_in`: the lists
 * given with --monitors or `monitors:`), or one seen in this run as the client or server of a
 * flow with the `identified_by` event.
 */
const hostRoleSchema = z
  .strictObject({
    description: z.string().min(1),
    listed_in: z.enum(['monitors']).optional(),
    identified_by: z.strictObject({ event: eventMatch, side: z.enum(['client', 'server']) }).optional(),
  })
  .refine((r) => r.listed_in !== undefined || r.identified_by !== undefined, { message: 'a host role needs listed_in, identified_by or both' });

export const ruleFileSchema = z.strictObject({
  host_roles: z.record(roleName, hostRoleSchema).default({}),
  rules: z.array(ruleSchema).default([]),
  thresholds: z.array(thresholdSchema).default([]),
  suppressions: z.array(suppressionSchema).default([]),
});

export type RuleSpec = z.infer<typeof ruleSchema>;
export type MatchSpec = z.infer<typeof match>;
export type EventMatchSpec = z.infer<typeof eventMatch>;
export type ThresholdSpec = z.infer<typeof thresholdSchema>;
export type SuppressionSpec = z.infer<typeof suppressionSchema>;
export type RuleFile = z.infer<typeof ruleFileSchema>;
export type HostRoleSpec = z.infer<typeof hostRoleSchema>;
