import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_MAIN, CLI_NODE_FLAGS, hl7Flow, ofType, parseEveLines, pcapOf, REPO_ROOT, runCli, tempDir, type TempDir } from '../support/cli.js';

let dir: TempDir;
beforeAll(() => {
  dir = tempDir();
});
afterAll(() => dir.remove());

/**
 * Starts a replay of standard input, writes `bytes` and leaves the pipe open, as a capture still
 * being written would be; sends `signal` once the bytes are analysed; resolves with what it wrote.
 */
function interruptedReplay(bytes: Buffer, signal: NodeJS.Signals, format: 'text' | 'json'): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI_NODE_FLAGS, CLI_MAIN, 'replay', '-', '--format', format], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let sentAt = 0;
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => undefined);
    child.stdin.write(bytes);
    // Time enough to start and read what was written; the pipe stays open.
    setTimeout(() => {
      sentAt = Date.now();
      child.kill(signal);
    }, 1500);
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), ms: Date.now() - sentAt });
    });
  });
}

describe('replay interrupted by a signal', () => {
  it('SIGINT: exit 130, the summary of what was read marked interrupted', async () => {
    // An alerting flow, then the capture goes on (no end of file): the analyst presses Ctrl-C.
    const flow = hl7Flow();
    const run = await interruptedReplay(pcapOf(flow), 'SIGINT', 'text');
    expect(run.code).toBe(130);
    expect(run.stdout).toMatch(/^result +INTERRUPTED: by SIGINT/m);
    expect(run.stdout).toMatch(new RegExp(`^traffic +${flow.length} packets`, 'm'));
    expect(run.stdout).toContain('sid 1000002');
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });

  it('SIGTERM: exit 143, alerts and a final stats record saying the run was interrupted', async () => {
    const flow = hl7Flow();
    const run = await interruptedReplay(pcapOf(flow), 'SIGTERM', 'json');
    expect(run.code).toBe(143);
    const eve = parseEveLines(run.stdout);
    expect(ofType(eve, 'alert').map((a) => a.alert.signature_id)).toEqual([1000002]);
    const stats = ofType(eve, 'stats').at(-1);
    expect(stats?.wardwatch.run_end).toEqual({ state: 'interrupted', reasons: expect.arrayContaining(['by SIGTERM']) });
    expect(stats?.stats.decoder.pkts).toBe(flow.length);
    // Ended at once, not when the writer of the capture gave up.
    expect(run.ms).toBeLessThan(10_000);
  });
});

describe('a run that failed', () => {
  it('says so first in the summary and in the final stats record, with the reason', async () => {
    const notes = dir.file('notes.pcap', 'these are not packets\n');
    const good = dir.file('good.pcap', pcapOf(hl7Flow()));
    const text = await runCli(['replay', good, notes, '--format', 'text']);
    expect(text.code).toBe(2);
    const summary = text.stdout.split('\n').filter((l) => !l.startsWith('20'));
    expect(summary[0]).toMatch(new RegExp(`^result +FAILED: ${notes.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: byte offset 0: not a pcap or pcapng capture`));
    // What could be read is still reported.
    expect(text.stdout).toContain('sid 1000002');

    const json = await runCli(['replay', good, notes, '--format', 'json']);
    const stats = ofType(parseEveLines(json.stdout), 'stats').at(-1);
    expect(stats?.wardwatch.run_end.state).toBe('failed');
    expect(stats?.wardwatch.run_end.reasons[0]).toContain(notes);
  });

  it('a clean run has no result line and no run_end', async () => {
    const good = dir.file('clean.pcap', pcapOf(hl7Flow()));
    const text = await runCli(['replay', good, '--format', 'text']);
    expect(text.stdout).not.toMatch(/^result/m);
    const json = await runCli(['replay', good, '--format', 'json']);
    expect(ofType(parseEveLines(json.stdout), 'stats').at(-1)?.wardwatch.run_end).toBeUndefined();
  });
});
