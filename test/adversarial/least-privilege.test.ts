/**
 * `wardwatch replay` opens no network connection of its own: the built command runs in a fresh
 * network namespace (no interfaces, loopback down) and still gives the sample's alerts. Creating
 * the namespace needs root, which CI has; a run as another user skips this test, except on CI.
 * Where strace is installed the run is also traced, and no IP socket may be opened at all.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/captures.js';
import { CLI_MAIN, CLI_NODE_FLAGS } from '../support/cli.js';
import { expectedAlerts } from './support.js';

const SAMPLE = 'cms8000-to-indicator.pcap';
const isRoot = process.getuid?.() === 0;
const onCi = process.env.CI === 'true';

function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

describe('least privilege', () => {
  it.skipIf(!isRoot && !onCi)('replays a capture inside a network namespace with no interfaces but a down loopback', () => {
    if (!isRoot) throw new Error('this test creates a network namespace (unshare -n) and must run as root on CI');
    if (!hasCommand('unshare')) throw new Error('unshare (util-linux) is needed to create a network namespace');
    if (!existsSync(CLI_MAIN)) throw new Error(`${CLI_MAIN} is missing: build first (npm run build)`);

    // What a fresh namespace holds: the loopback only, down, so no address and no route at all.
    const inFreshNamespace = (file: string) => execFileSync('unshare', ['-n', 'cat', file], { encoding: 'utf8' });
    const links = inFreshNamespace('/proc/net/dev')
      .split('\n')
      .slice(2)
      .map((l) => l.trim().split(':')[0])
      .filter(Boolean);
    expect(links).toEqual(['lo']);
    expect(inFreshNamespace('/proc/net/fib_trie').trim()).toBe('');
    expect(inFreshNamespace('/proc/net/if_inet6').trim()).toBe('');

    const traceDir = mkdtempSync(join(tmpdir(), 'wardwatch-netns-'));
    const traceFile = join(traceDir, 'trace');
    const strace = hasCommand('strace') ? ['strace', '-f', '-qq', '-e', 'trace=socket,connect', '-o', traceFile] : [];
    try {
      const run = spawnSync('unshare', ['-n', ...strace, process.execPath, ...CLI_NODE_FLAGS, CLI_MAIN, 'replay', join(REPO_ROOT, 'pcaps', SAMPLE), '--format', 'json'], {
        encoding: 'utf8',
        cwd: REPO_ROOT,
        timeout: 60_000,
      });
      expect(run.error).toBeUndefined();
      expect(run.stderr).not.toMatch(/error/i);
      expect(run.status).toBe(0);
      const records = run.stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { event_type: string; alert?: { signature_id: number } });
      const byRule: Record<string, number> = {};
      for (const r of records) if (r.event_type === 'alert') byRule[String(r.alert!.signature_id)] = (byRule[String(r.alert!.signature_id)] ?? 0) + 1;
      expect(byRule).toEqual(expectedAlerts(SAMPLE));
      expect(records.some((r) => r.event_type === 'stats')).toBe(true);
      if (strace.length > 0) {
        const inetSockets = readFileSync(traceFile, 'utf8')
          .split('\n')
          .filter((l) => /socket\(AF_INET6?\b|connect\(.*sa_family=AF_INET6?\b/.test(l));
        expect(inetSockets).toEqual([]);
      }
    } finally {
      rmSync(traceDir, { recursive: true, force: true });
    }
  });
});
