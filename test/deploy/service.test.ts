/**
 * What ships for running wardwatch as a service: the systemd unit passes `systemd-analyze verify`
 * without a single remark and grants only what capture needs; the example configuration is valid,
 * its commented outputs too.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/cli/config.js';
import { CLI_MAIN, CLI_NODE_FLAGS, REPO_ROOT } from '../support/cli.js';

const UNIT = join(REPO_ROOT, 'deploy/systemd/wardwatch.service');
const EXAMPLE = join(REPO_ROOT, 'deploy/wardwatch.yaml');

/** The unit's `Key=value` lines of one section, in order. */
function settings(text: string, section: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let current = '';
  for (const line of text.split('\n')) {
    const header = /^\[(.+)\]$/.exec(line.trim());
    if (header) current = header[1];
    else if (current === section && /^[A-Za-z]+=/.test(line)) out.push([line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]);
  }
  return out;
}

describe('the systemd unit', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'wardwatch-unit-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('passes systemd-analyze verify with nothing to report', () => {
    // The same unit, its program being the one just built rather than an installed /usr/bin/wardwatch.
    const text = readFileSync(UNIT, 'utf8');
    expect(text).toMatch(/^ExecStart=\/usr\/bin\/wardwatch live --config \/etc\/wardwatch\/wardwatch\.yaml$/m);
    const copy = join(dir, 'wardwatch.service');
    writeFileSync(copy, text.replace(/^ExecStart=\/usr\/bin\/wardwatch /m, `ExecStart=${process.execPath} ${CLI_NODE_FLAGS.join(' ')} ${CLI_MAIN} `));
    const verify = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8', timeout: 30_000 });
    expect(verify.error, 'systemd-analyze (apt-get install systemd)').toBeUndefined();
    expect(verify.stdout + verify.stderr).toBe('');
    expect(verify.status).toBe(0);
  });

  it('runs as the unprivileged user with only the capture capabilities, hardened', () => {
    const service = new Map(settings(readFileSync(UNIT, 'utf8'), 'Service'));
    expect(service.get('User')).toBe('wardwatch');
    expect(service.get('AmbientCapabilities')).toBe('CAP_NET_RAW CAP_NET_ADMIN');
    expect(service.get('CapabilityBoundingSet')).toBe('CAP_NET_RAW CAP_NET_ADMIN');
    expect(service.get('NoNewPrivileges')).toBe('yes');
    expect(service.get('ProtectSystem')).toBe('strict');
    expect(service.get('ReadWritePaths')).toBe('/var/log/wardwatch /var/lib/wardwatch');
    expect(service.get('RestrictAddressFamilies')!.split(' ').sort()).toEqual(['AF_INET', 'AF_INET6', 'AF_NETLINK', 'AF_PACKET', 'AF_UNIX']);
    expect(service.get('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    expect(service.get('Restart')).toBe('on-failure');
  });
});

describe('the example configuration', () => {
  it('is valid as shipped', async () => {
    const config = await loadConfig(EXAMPLE);
    expect(config.live?.interface).toBe('eth1');
    expect(config.outputs).toEqual([{ type: 'eve', path: '/var/log/wardwatch/eve.json' }]);
  });

  it('is valid with every commented output in use', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wardwatch-example-'));
    try {
      const text = readFileSync(EXAMPLE, 'utf8').replace(/^ {2}# ( *(-|[a-z_]+:) )/gm, '  $1');
      const path = join(dir, 'wardwatch.yaml');
      writeFileSync(path, text);
      const config = await loadConfig(path);
      expect(config.outputs!.map((o) => o.type)).toEqual(['eve', 'eve', 'syslog', 'redis']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
