/**
 * Outputs from the command user's side: a bad output configuration is one line and exit 2 before
 * anything starts; an output that fails during the run (a full disk, stdout on /dev/full) is one
 * line naming it and the errno, the summary says it failed, and the exit code is 2, never a stack
 * trace or the "alerts raised" code.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLI_MAIN, CLI_NODE_FLAGS, lines, REPO_ROOT, runCli, tempDir, type TempDir } from '../support/cli.js';

const SAMPLE = join(REPO_ROOT, 'pcaps', 'cms8000-to-indicator.pcap');

let tmp: TempDir;
beforeEach(() => {
  tmp = tempDir('wardwatch-outcfg-');
});
afterEach(() => {
  tmp.remove();
});

/** The error lines of a run (operational log lines aside). */
function errorLines(stderr: string): string[] {
  return lines(stderr).filter((l) => l.startsWith('wardwatch:'));
}

describe('a bad output configuration', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['an unknown scheme', 'ftp://siem.example:21', /--output: 'ftp:\/\/siem\.example:21': unknown output scheme 'ftp' \(known: file, syslog\+tcp, syslog\+tls, syslog\+udp, redis\)/],
    ['a URL with no host', 'syslog+tcp://', /'syslog\+tcp:\/\/': no host/],
    ['a port out of range', 'syslog+tcp://127.0.0.1:70000', /port '70000' is not a number from 1 to 65535/],
    ['a port that is no number', 'redis://127.0.0.1:six/eve', /port 'six' is not a number from 1 to 65535/],
    ['an unknown Redis mode', 'redis://127.0.0.1:6379/eve?mode=queue', /mode: Invalid option: expected one of "list"\|"lpush"\|"rpush"\|"channel"\|"publish"\|"stream"\|"xadd"/],
    ['an unknown option', 'syslog+udp://127.0.0.1:514?colour=red', /Unrecognized key: "colour"/],
    ['an unreadable CA file', 'syslog+tls://127.0.0.1:6514?ca=/nonexistent/ca.pem', /output syslog\+tls:\/\/127\.0\.0\.1:6514: ca file \/nonexistent\/ca\.pem cannot be read: ENOENT/],
    ['a CA file that never ends', 'syslog+tls://127.0.0.1:6514?ca=/dev/zero', /ca file \/dev\/zero cannot be read: not a regular file/],
    ['a client certificate without its key', 'syslog+tls://127.0.0.1:6514?cert=/etc/hostname', /a client certificate needs both cert and key/],
    ['a spool directory that cannot be created', 'redis://127.0.0.1:6379/eve?spool_dir=/dev/null/spool', /output redis:\/\/127\.0\.0\.1:6379\/eve: spool directory \/dev\/null\/spool cannot be used: ENOTDIR/],
  ];
  for (const [what, url, message] of cases) {
    it(`${what}: one line, exit 2, nothing analysed`, async () => {
      const run = await runCli(['replay', SAMPLE, '--format', 'json', '--output', url]);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(errorLines(run.stderr)).toHaveLength(1);
      expect(run.stderr).toMatch(message);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    });
  }

  it('never shows the password a Redis URL carries', async () => {
    const run = await runCli(['replay', SAMPLE, '--format', 'json', '--output', 'redis://sensor:s3cret@127.0.0.1:70000/eve']);
    expect(run.code).toBe(2);
    expect(errorLines(run.stderr)).toEqual([expect.stringMatching(/'redis:\/\/sensor:\*\*\*@127\.0\.0\.1:70000\/eve': port '70000'/)]);
    expect(run.stderr).not.toContain('s3cret');
  });

  it('is refused by live before the capture starts', async () => {
    // The interface does not exist: had the capture started first, that would be the message.
    const run = await runCli(['live', '-i', 'wardwatch-none0', '--output', 'syslog+tcp://127.0.0.1:99999']);
    expect(run.code).toBe(2);
    expect(errorLines(run.stderr)).toEqual([expect.stringMatching(/--output: 'syslog\+tcp:\/\/127\.0\.0\.1:99999': port '99999'/)]);
  });

  it('in the config file, names the file, the entry and its line', async () => {
    const config = tmp.file('wardwatch.yaml', ['outputs:', '  - type: eve', "    path: '-'", '  - type: syslog', '    url: syslog+tcp://127.0.0.1:0', ''].join('\n'));
    const run = await runCli(['replay', SAMPLE, '--config', config]);
    expect(run.code).toBe(2);
    expect(errorLines(run.stderr)).toEqual([expect.stringMatching(/wardwatch\.yaml: outputs\.1\.url: .*port '0' is not a number from 1 to 65535 \(line 5\)/)]);
  });

  it('in the config file, a URL entry is read as --output reads it', async () => {
    const config = tmp.file('wardwatch.yaml', ['outputs:', '  - type: eve', "    path: '-'", "  - 'gopher://127.0.0.1:70'", ''].join('\n'));
    const run = await runCli(['replay', SAMPLE, '--config', config]);
    expect(run.code).toBe(2);
    expect(errorLines(run.stderr)).toEqual([expect.stringMatching(/outputs\.1: 'gopher:\/\/127\.0\.0\.1:70': unknown output scheme 'gopher'/)]);
  });

  it('file:PATH is the EVE file output', async () => {
    const path = join(tmp.path, 'eve.json');
    const run = await runCli(['replay', SAMPLE, '--format', 'json', '--output', `file:${path}`]);
    expect(run.code).toBe(0);
    const inFile = readFileSync(path, 'utf8').split('\n');
    const onStdout = run.stdout.split('\n');
    expect(inFile).toHaveLength(onStdout.length);
    // Stats and inventory records are stamped by each output as it writes them.
    const alerts = (ls: string[]) => ls.filter((l) => l.includes('"event_type":"alert"'));
    expect(alerts(inFile)).toEqual(alerts(onStdout));
    expect(alerts(inFile)).toHaveLength(2);
  });
});

/** Runs the command with stdout on /dev/full, as `wardwatch ... > /dev/full` does. */
function runToDevFull(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  const full = openSync('/dev/full', 'w');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI_NODE_FLAGS, CLI_MAIN, ...args], { cwd: REPO_ROOT, stdio: ['ignore', full, 'pipe'] });
    closeSync(full);
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('an output that fails during replay', () => {
  it('--eve /dev/full: one line naming the output and the errno, the summary says so, exit 2', async () => {
    const run = await runCli(['replay', SAMPLE, '--format', 'text', '--eve', '/dev/full']);
    expect(run.code).toBe(2);
    expect(errorLines(run.stderr)).toEqual(['wardwatch: error: output eve:/dev/full: write failed: ENOSPC']);
    // Two alerts, the run record, the final stats and the inventory.
    expect(run.stdout).toMatch(/^output\s+eve:\/dev\/full failed: ENOSPC: no space left on device, write; 0 records written, 5 not delivered$/m);
    expect(run.stdout).toMatch(/^alerts\s+2$/m);
  });

  it('--format json > /dev/full: the same, with the summary on stderr; no stack trace, not exit 1', async () => {
    const run = await runToDevFull(['replay', SAMPLE, '--format', 'json']);
    expect(run.stderr).not.toMatch(/\n\s+at |internal error/);
    expect(run.code).toBe(2);
    expect(errorLines(run.stderr)).toEqual(['wardwatch: error: output eve:-: write failed: ENOSPC']);
    expect(run.stderr).toMatch(/^output\s+eve:- failed: ENOSPC/m);
    expect(run.stderr).toMatch(/^alerts\s+2$/m);
  });

  it('--format text > /dev/full: the summary, which cannot go to stdout, is on stderr', async () => {
    const run = await runToDevFull(['replay', SAMPLE, '--format', 'text']);
    expect(run.code).toBe(2);
    expect(errorLines(run.stderr)).toEqual(['wardwatch: error: output text:-: write failed: ENOSPC']);
    expect(run.stderr).toMatch(/^output\s+text:- failed: ENOSPC/m);
  });
});

describe('an EVE FIFO nobody reads yet', () => {
  it('is one line naming the FIFO, exit 2, at once: the open does not wait for a reader', async () => {
    const fifo = join(tmp.path, 'eve.fifo');
    execFileSync('mkfifo', [fifo]);
    const started = Date.now();
    const run = await runCli(['replay', SAMPLE, '--format', 'text', '--eve', fifo], { timeoutMs: 10_000 });
    expect(run.code).toBe(2);
    expect(errorLines(run.stderr)).toEqual([`wardwatch: error: ${fifo}: cannot write: no process is reading the FIFO '${fifo}' (start its reader first)`]);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
