/**
 * The on-disk spool of the network outputs, and the RFC 5424 / RFC 6587 framing of the syslog
 * output: records come out in the order they went in (across restarts, and with what memory held
 * written before them), a full spool keeps alerts before other records, and the octet count is
 * the message's length in bytes.
 */
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeLine, Spool, type Envelope } from '../../src/output/spool.js';
import { octetCounted, syslogMessage } from '../../src/output/syslog-output.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wardwatch-spool-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const record = (seq: number, kind = 'alert', pad = 0): Envelope => ({
  seq,
  kind,
  severity: kind === 'alert' ? 1 : null,
  timeMs: 1_700_000_000_000 + seq,
  json: JSON.stringify({ event_type: kind, n: seq, pad: 'x'.repeat(pad) }),
});

function drainAll(spool: Spool, batch = 3): number[] {
  const out: number[] = [];
  for (;;) {
    const got = spool.peek(batch);
    if (got.length === 0) return out;
    out.push(...got.map((e) => e.seq));
    spool.commit(got.length);
  }
}

describe('the spool', () => {
  it('gives records back in order, memory written before the rest, and removes what was sent', () => {
    const spool = new Spool(dir, 1 << 20);
    for (let i = 10; i < 20; i++) expect(spool.append(record(i, i % 3 === 0 ? 'flow' : 'alert'))).toBe(true);
    // What waited in memory is older than what the spool already holds.
    expect(spool.prepend([5, 6, 7, 8, 9].map((i) => record(i)))).toEqual([]);
    expect(spool.records).toBe(15);
    expect(drainAll(spool)).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    expect(spool.isEmpty()).toBe(true);
    expect(readdirSync(dir).filter((n) => n.startsWith('seg-'))).toEqual([]);
  });

  it('survives a restart: what was sent is not sent again, and new records follow the old ones', () => {
    const first = new Spool(dir, 1 << 20);
    for (let i = 0; i < 6; i++) first.append(record(i));
    const sent = first.peek(2);
    first.commit(sent.length);
    first.close();

    const second = new Spool(dir, 1 << 20);
    expect(second.records).toBe(4);
    expect(second.nextSeq).toBe(6);
    second.append(record(second.nextSeq));
    expect(drainAll(second, 10)).toEqual([2, 3, 4, 5, 6]);
  });

  it('is refused to a second writer while the first holds it, and taken over from one that died', () => {
    const first = new Spool(dir, 1 << 20);
    expect(() => new Spool(dir, 1 << 20)).toThrow(`in use by process ${process.pid}`);
    first.close();
    new Spool(dir, 1 << 20).close();
    // A process that no longer runs: its lock is stale.
    writeFileSync(join(dir, 'lock'), '2147483646\n');
    expect(() => new Spool(dir, 1 << 20).close()).not.toThrow();
  });

  it('files are readable by their owner only: records can hold patient data', () => {
    const spool = new Spool(join(dir, 'new'), 1 << 20);
    spool.append(record(0));
    expect(statSync(join(dir, 'new')).mode & 0o777).toBe(0o700);
    for (const name of readdirSync(join(dir, 'new'))) expect(statSync(join(dir, 'new', name)).mode & 0o777).toBe(0o600);
    spool.close();
  });

  it('when full, refuses other records, removes them to make room for alerts, and refuses alerts last', () => {
    const size = Buffer.byteLength(encodeLine(record(0, 'alert', 200)));
    const spool = new Spool(dir, size * 4 + 10);
    expect(spool.append(record(0, 'alert', 200))).toBe(true);
    expect(spool.append(record(1, 'flow', 200))).toBe(true);
    expect(spool.append(record(2, 'stats', 200))).toBe(true);
    expect(spool.append(record(3, 'alert', 200))).toBe(true);
    // Full: a flow record does not fit, an alert pushes the oldest others out.
    expect(spool.append(record(4, 'flow', 200))).toBe(false);
    expect(spool.append(record(5, 'alert', 200))).toBe(true);
    expect(spool.append(record(6, 'alert', 200))).toBe(true);
    expect(spool.append(record(7, 'alert', 200))).toBe(false);
    expect(spool.bytes).toBeLessThanOrEqual(size * 4 + 10);
    expect(drainAll(spool)).toEqual([0, 3, 5, 6]);
  });

  it('leaves out a line cut by a crash in the middle of a write', async () => {
    const spool = new Spool(dir, 1 << 20);
    spool.append(record(0));
    spool.append(record(1));
    spool.close();
    const { appendFileSync } = await import('node:fs');
    const [segment] = readdirSync(dir).filter((n) => n.startsWith('seg-'));
    appendFileSync(join(dir, segment), '2 alert 1 17000');
    expect(drainAll(new Spool(dir, 1 << 20))).toEqual([0, 1]);
  });
});

describe('syslog framing', () => {
  it('is RFC 5424 with APP-NAME wardwatch, MSGID the event type, no structured data, the EVE JSON as MSG', () => {
    const alert: Envelope = { seq: 0, kind: 'alert', severity: 1, timeMs: Date.UTC(2025, 0, 30, 10, 15, 0, 123), json: '{"event_type":"alert"}' };
    // local5 (21) × 8 + critical (2)
    expect(syslogMessage(alert, 21, 'sensor-1', 4242)).toBe('<170>1 2025-01-30T10:15:00.123Z sensor-1 wardwatch 4242 alert - {"event_type":"alert"}');
    const stats: Envelope = { ...alert, kind: 'stats', severity: null, json: '{}' };
    // local5 × 8 + informational (6)
    expect(syslogMessage(stats, 21, 'sensor-1', 1)).toMatch(/^<174>1 \S+ sensor-1 wardwatch 1 stats - \{\}$/);
    expect(syslogMessage({ ...alert, severity: 3 }, 16, 'h', 1)).toMatch(/^<132>1 /);
  });

  it('counts octets, not characters (RFC 6587)', () => {
    const message = '<134>1 - - wardwatch 1 alert - {"note":"Größe"}';
    const framed = octetCounted(message);
    const [count, ...rest] = framed.split(' ');
    expect(Number(count)).toBe(Buffer.byteLength(rest.join(' ')));
    expect(Number(count)).toBe(message.length + 2);
  });
});
