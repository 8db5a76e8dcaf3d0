/**
 * Packet times as text, shared by the rule engine's notes and the outputs. A capture can claim
 * any 64-bit time; one before 1970 or past year 9999 is shown at that limit rather than breaking
 * the record (Date throws past year 275760, and EVE timestamps have four-digit years).
 */

/** 9999-12-31T23:59:59Z: the last second with a four-digit year. */
const LAST_FOUR_DIGIT_SECOND = 253402300799;

/** `YYYY-MM-DDTHH:MM:SS` in UTC. */
export function utcSeconds(sec: number): string {
  const clamped = Math.max(0, Math.min(LAST_FOUR_DIGIT_SECOND, Number.isFinite(sec) ? sec : 0));
  return new Date(clamped * 1000).toISOString().slice(0, 19);
}

/** `YYYY-MM-DD HH:MM:SSZ`, as the summary and the report show a time. */
export function readableUtc(sec: number): string {
  return utcSeconds(sec).replace('T', ' ') + 'Z';
}
