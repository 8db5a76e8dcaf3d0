import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Alert, DetectSink, FlowRecord } from '../../src/detect/alert.js';
import { EveOutput } from '../../src/output/eve-output.js';
import { stalledFifo } from '../support/stalled-fifo.js';
import { Inventory } from '../../src/output/inventory.js';
import { FanOutSink, openOutputFile, type OutputHealth } from '../../src/output/output.js';
import { openOutput } from '../../src/output/registry.js';
import { EVENTS, INDICATOR, makeAlert, makeFlow, makeFlowRecord, PATIENT_STRINGS, schemaErrors } from './fixtures.js';
import { AppLayerStats } from '../../src/analyzers/app-layer.js';
import { DecodeStats } from '../../src/decode/decode-stats.js';
import { DefragStats } from '../../src/decode/defrag.js';
import { DetectStats } from '../../src/detect/detect-engine.js';
import { DedupStats, FlowStats, ReassemblyStats } from '../../src/flow/flow-stats.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wardwatch-output-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function collect(): { out: PassThrough; text: () => string } {
  const out = new PassThrough();
  let written = '';
  out.on('data', (chunk: Buffer) => (written += chunk.toString()));
  return { out, text: () => written };
}

describe('the EVE output', () => {
  it('writes one schema-valid JSON record per line: alerts, flows, stats and inventory', () => {
    const { out, text } = collect();
    const sink = new EveOutput('eve:test', out, { evidence: 'redacted', flows: true });
    sink.alert(makeAlert({ event: EVENTS['cms8000.detected'] }));
    sink.flowEnd(makeFlowRecord(makeFlow({ appProto: 'cms8000' }), 'end-of-input', [[1000001, 1]], true));
    sink.stats({
      uptimeSec: 3,
      decode: new DecodeStats(),
      defrag: new DefragStats(),
      flows: new FlowStats(),
      reassembly: new ReassemblyStats(),
      dedup: new DedupStats(),
      app: new AppLayerStats(),
      detect: new DetectStats(),
    });
    const inventory = new Inventory();
    inventory.flowEnd(makeFlowRecord(makeFlow({ appProto: 'cms8000' })));
    sink.inventory(inventory.snapshot());
    const lines = text().split('\n');
    expect(lines.pop()).toBe('');
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.map((r) => r.event_type)).toEqual(['alert', 'flow', 'stats', 'inventory']);
    for (const r of records) expect(schemaErrors(r)).toBe('');
  });

  it('leaves flow records out unless asked', () => {
    const { out, text } = collect();
    const sink = new EveOutput('eve:test', out, { evidence: 'redacted', flows: false });
    sink.flowEnd(makeFlowRecord(makeFlow()));
    expect(text()).toBe('');
  });

  it('writes patient data only with full evidence', () => {
    for (const evidence of ['none', 'redacted', 'full'] as const) {
      const { out, text } = collect();
      const sink = new EveOutput('eve:test', out, { evidence, flows: true });
      sink.alert(makeAlert({ event: EVENTS['hl7.message'] }));
      sink.alert(makeAlert({ event: EVENTS['cms8000.patient'] }));
      for (const secret of PATIENT_STRINGS) expect(text().includes(secret), `${evidence} ${secret}`).toBe(evidence === 'full');
    }
  });

  it('keeps the first write error, reports it once and counts what it could not deliver', async () => {
    let writes = 0;
    const failing = new Writable({
      write(_chunk, _enc, cb) {
        writes++;
        cb(new Error('ENOSPC: no space left on device'));
      },
    });
    const reports: OutputHealth[] = [];
    const sink = new EveOutput('eve:failing', failing, { evidence: 'redacted', flows: true }, (h) => reports.push({ ...h }));
    sink.alert(makeAlert());
    await new Promise((r) => setImmediate(r));
    expect(sink.health.error?.message).toContain('ENOSPC');
    sink.alert(makeAlert());
    sink.flowEnd(makeFlowRecord(makeFlow()));
    expect(writes).toBe(1);
    await sink.close();
    expect(reports).toHaveLength(1);
    expect(reports[0].name).toBe('eve:failing');
    expect(sink.health).toMatchObject({ written: 0, dropped: 3 });
  });

  it('on a full disk, counts every record as not delivered and closes without hanging', async () => {
    const reports: OutputHealth[] = [];
    const sink = openOutput({ type: 'eve', path: '/dev/full' }, { evidence: 'redacted', flows: true, onFailure: (h) => reports.push(h) });
    for (let i = 0; i < 5; i++) sink.alert(makeAlert());
    await sink.close();
    expect(reports.map((r) => r.name)).toEqual(['eve:/dev/full']);
    expect((sink.health.error as NodeJS.ErrnoException).code).toBe('ENOSPC');
    expect(sink.health).toMatchObject({ written: 0, dropped: 5 });
  });

  it('counts the records it delivered to a file', async () => {
    const path = join(dir, 'counted.json');
    const sink = openOutput({ type: 'eve', path }, { evidence: 'redacted', flows: false, onFailure: () => undefined });
    sink.alert(makeAlert());
    sink.flowEnd(makeFlowRecord(makeFlow()));
    sink.alert(makeAlert());
    await sink.close();
    expect(sink.health).toEqual({ name: `eve:${path}`, written: 2, dropped: 0, error: null });
    expect(readFileSync(path, 'utf8').trim().split('\n')).toHaveLength(2);
  });
});

describe('FanOutSink', () => {
  it('hands every alert and flow end to each sink', () => {
    const seen: string[] = [];
    const recorder = (name: string): DetectSink => ({
      alert: (a: Alert) => seen.push(`${name}:alert:${a.rule.id}`),
      flowEnd: (r: FlowRecord) => seen.push(`${name}:flow:${r.reason}`),
    });
    const fan = new FanOutSink([recorder('a'), recorder('b')]);
    fan.alert(makeAlert({ indicator: INDICATOR }));
    fan.flowEnd(makeFlowRecord(makeFlow(), 'evicted'));
    expect(seen).toEqual(['a:alert:1000001', 'b:alert:1000001', 'a:flow:evicted', 'b:flow:evicted']);
  });
});

describe('openOutputFile', () => {
  it('creates a private file with mode 0600 and writes records to it', async () => {
    const path = join(dir, 'eve.json');
    const sink = new EveOutput('eve:test', openOutputFile(path, { private: true }), { evidence: 'full', flows: false });
    sink.alert(makeAlert());
    await sink.close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]).event_type).toBe('alert');
  });

  it('makes an existing file private too', async () => {
    const path = join(dir, 'old.json');
    writeFileSync(path, 'old\n', { mode: 0o644 });
    const stream = openOutputFile(path, { private: true });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    await new Promise<void>((resolve) => stream.end(resolve));
    expect(readFileSync(path, 'utf8')).toBe('');
  });

  it('leaves a non-private file readable by others, and appends when asked', async () => {
    const path = join(dir, 'alerts.json');
    const first = openOutputFile(path, { private: false });
    await new Promise<void>((resolve) => first.end('one\n', resolve));
    // Same mode as any file created 0644 under this process's umask.
    const reference = join(dir, 'reference');
    writeFileSync(reference, '', { mode: 0o644 });
    expect(statSync(path).mode & 0o777).toBe(statSync(reference).mode & 0o777);
    const second = openOutputFile(path, { private: false, append: true });
    await new Promise<void>((resolve) => second.end('two\n', resolve));
    expect(readFileSync(path, 'utf8')).toBe('one\ntwo\n');
  });

  /** The FIFO opened for writing once its reader (just started) has opened it. */
  async function openOnceRead(fifo: string): Promise<Writable> {
    for (let tries = 0; ; tries++) {
      try {
        return openOutputFile(fifo, { private: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENXIO' || tries === 500) throw err;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
  }

  const readers: ChildProcess[] = [];
  afterEach(() => {
    for (const r of readers.splice(0)) r.kill('SIGKILL');
  });

  it('writes every record to a FIFO that a log shipper reads', async () => {
    const fifo = join(dir, 'eve.fifo');
    const copy = join(dir, 'shipped.json');
    execFileSync('mkfifo', [fifo]);
    const reader = spawn('sh', ['-c', 'cat "$1" > "$2"', 'sh', fifo, copy]);
    readers.push(reader);
    const sink = new EveOutput('eve:fifo', await openOnceRead(fifo), { evidence: 'redacted', flows: false });
    for (let i = 0; i < 2000; i++) sink.alert(makeAlert());
    await sink.close();
    await new Promise((resolve) => reader.once('exit', resolve));
    expect(sink.health).toEqual({ name: 'eve:fifo', written: 2000, dropped: 0, error: null });
    expect(readFileSync(copy, 'utf8').trim().split('\n')).toHaveLength(2000);
  });

  it('gives up on a FIFO nobody reads at the deadline, counting what it could not write', async () => {
    const fifo = join(dir, 'stalled.fifo');
    const stalled = stalledFifo(fifo);
    readers.push(stalled.reader);
    await stalled.ready;
    const reports: OutputHealth[] = [];
    const sink = new EveOutput('eve:stalled', openOutputFile(fifo, { private: true }), { evidence: 'redacted', flows: false }, (h) => reports.push(h));
    // Far more than the reader's one-page buffer holds.
    for (let i = 0; i < 500; i++) sink.alert(makeAlert());
    const started = Date.now();
    await sink.close(started + 300);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(sink.health.error?.message).toBe('not taking records by the stop deadline');
    expect(reports).toHaveLength(1);
    expect(sink.health.dropped).toBeGreaterThan(0);
    expect(sink.health.written + sink.health.dropped).toBe(500);
  });

  it('means stdout for -, and fails at once on a path it cannot open', () => {
    expect(openOutputFile('-', { private: true })).toBe(process.stdout);
    expect(() => openOutputFile(join(dir, 'missing', 'eve.json'), { private: true })).toThrow(/ENOENT/);
  });
});
