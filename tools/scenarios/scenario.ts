/** What a detection scenario is: a capture and the alerts the shipped rules must raise on it. */

export interface Expectation {
  /** Alerts by rule id (signature_id): how many the replay must raise; empty when none may fire. */
  alerts: Record<string, number>;
  /** Why those alerts and no others, from the rules and the traffic. */
  why: string;
  /** Extra arguments for `wardwatch replay`. */
  args?: string[];
  /** The warnings the replay must print on stderr, one per entry, each containing its text. */
  warnings?: string[];
}

export interface DetectionScenario {
  file: string;
  description: string;
  expected: Expectation;
  build(): Buffer;
}

/** The contents of `<capture>.expected.json`. */
export function expectationJson(e: Expectation): string {
  const body: { alerts: Record<string, number>; args?: string[]; warnings?: string[] } = { alerts: e.alerts };
  if (e.args !== undefined) body.args = e.args;
  if (e.warnings !== undefined) body.warnings = e.warnings;
  return JSON.stringify(body, null, 2) + '\n';
}
