import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  emptyTcpFlow,
  hl7Flow,
  HOST,
  lines,
  ofType,
  parseEveLines,
  pcapOf,
  runCli,
  tempDir,
  type TempDir,
} from '../support/cli.js';

let dir: TempDir;
let hl7Out: string;
let toUserIndicator: string;
beforeAll(() => {
  dir = tempDir();
  hl7Out = dir.file('hl7-external.pcap', pcapOf(hl7Flow()));
  toUserIndicator = dir.file('to-lab.pcap', pcapOf(emptyTcpFlow({ server: HOST.userIndicator })));
});
afterAll(() => dir.remove());

async function alertIds(args: string[]): Promise<number[]> {
  const run = await runCli(['replay', ...args, '--format', 'json']);
  expect(run.code, run.stderr).toBe(0);
  return ofType(parseEveLines(run.stdout), 'alert').map((r) => r.alert.signature_id);
}

describe('--home-net', () => {
  it('decides what is external: HL7 to 198.51.100.23:515 alerts by default, not when that network is home', async () => {
    expect(await alertIds([hl7Out])).toEqual([1000002]);
    expect(await alertIds([hl7Out, '--home-net', '10.0.0.0/8,198.51.100.0/24'])).toEqual([]);
  });

  it('a HOME_NET without the monitor makes it no longer the hospital side', async () => {
    expect(await alertIds([hl7Out, '--home-net', '192.168.0.0/16'])).toEqual([]);
  });
});

describe('--indicators FILE', () => {
  it('adds the addresses of a text list, which then raise 1000001', async () => {
    expect(await alertIds([toUserIndicator])).toEqual([]);
    const list = dir.file('lab-servers.txt', `# our own watch list\n${HOST.userIndicator}   lab results server seen in an incident\n`);
    const run = await runCli(['replay', toUserIndicator, '--indicators', list, '--format', 'json']);
    expect(run.code, run.stderr).toBe(0);
    const alerts = ofType(parseEveLines(run.stdout), 'alert');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      src_ip: HOST.monitor,
      dest_ip: HOST.userIndicator,
      alert: { signature_id: 1000001, severity: 1 },
      indicator: { address: HOST.userIndicator, indicator: HOST.userIndicator, exact: true, side: 'server' },
    });
    expect(alerts[0].indicator.description).toContain('lab results server');
    // The first packet to the indicator raises it.
    expect(alerts[0].pcap_cnt).toBe(1);
  });

  it('a CIDR entry covering the address gives severity 2', async () => {
    const list = dir.file('lab-network.txt', '198.51.100.64/26 lab network\n');
    const run = await runCli(['replay', toUserIndicator, '--indicators', list, '--format', 'json']);
    const alerts = ofType(parseEveLines(run.stdout), 'alert');
    expect(alerts.map((r) => [r.alert.signature_id, r.alert.severity])).toEqual([[1000001, 2]]);
    expect(alerts[0].indicator).toMatchObject({ address: HOST.userIndicator, indicator: '198.51.100.64/26', exact: false });
  });
});

describe('--config FILE', () => {
  it('applies home_net, format and flows from the file', async () => {
    const config = dir.file('ward.yaml', ['home_net:', '  - 10.0.0.0/8', '  - 198.51.100.0/24', 'flows: true', ''].join('\n'));
    const run = await runCli(['replay', hl7Out, '--config', config, '--format', 'json']);
    expect(run.code, run.stderr).toBe(0);
    const eve = parseEveLines(run.stdout);
    expect(ofType(eve, 'alert')).toEqual([]);
    expect(ofType(eve, 'flow')).toHaveLength(1);

    const text = dir.file('text.yaml', 'format: text\n');
    const asText = await runCli(['replay', hl7Out, '--config', text]);
    expect(asText.code).toBe(0);
    expect(lines(asText.stdout).some((l) => l.startsWith('{'))).toBe(false);
    expect(asText.stdout).toContain('(sid 1000002)');
  });

  it('the command line wins over the file', async () => {
    const config = dir.file('home.yaml', ['home_net: [10.0.0.0/8, 198.51.100.0/24]', 'format: text', ''].join('\n'));
    expect(await alertIds([hl7Out, '--config', config, '--home-net', '10.0.0.0/8'])).toEqual([1000002]);
  });

  it('indicator lists from the file and from the command line are both loaded', async () => {
    const fromFile = dir.file('from-file.txt', `${HOST.userIndicator}\n`);
    const config = dir.file('indicators.yaml', `indicators:\n  - ${fromFile}\n`);
    expect(await alertIds([toUserIndicator, '--config', config])).toEqual([1000001]);
  });
});

describe('app_layer in the config file', () => {
  it('a protocol turned off is not analysed: its rules stay quiet while the others still fire', async () => {
    const config = dir.file('no-hl7.yaml', 'app_layer:\n  hl7:\n    enabled: false\n');
    expect(await alertIds([hl7Out])).toEqual([1000002]);
    // Without the HL7 analyzer the bytes on 515 are only "not LPD".
    expect(await alertIds([hl7Out, '--config', config])).toEqual([1000006]);
  });

  it('refuses a protocol wardwatch has no analyzer for, naming the line', async () => {
    const config = dir.file('typo.yaml', 'format: json\napp_layer:\n  hl8:\n    enabled: false\n');
    const run = await runCli(['replay', hl7Out, '--config', config]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/typo\.yaml: app_layer: .*hl8.*\(line 3\)/);
  });
});

describe('YAML aliases and map keys in the config file', () => {
  it('an alias to no anchor is one line naming the file and line, exit 2, not an internal error', async () => {
    const config = dir.file('alias.yaml', 'format: json\nhome_net: [*lan]\n');
    const run = await runCli(['replay', hl7Out, '--config', config]);
    expect(run.code).toBe(2);
    expect(lines(run.stderr)).toEqual([expect.stringMatching(/alias\.yaml: Unresolved alias .*lan \(line 2\)$/)]);
    expect(run.stdout).toBe('');
  });

  it('a map used as a key is one located error, with no Node warning beside it', async () => {
    const config = dir.file('map-key.yaml', 'format: json\nlive:\n  { interface: eth1 }: x\n');
    const run = await runCli(['replay', hl7Out, '--config', config]);
    expect(run.code).toBe(2);
    expect(lines(run.stderr)).toEqual([expect.stringMatching(/map-key\.yaml: live: Unrecognized key: "\{ interface: eth1 \}"$/)]);
  });

  it('aliases that would expand a billionfold are refused at the first alias', async () => {
    const laughs = ['a: &a [x, x, x, x, x, x, x, x, x]', 'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]', 'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]', 'd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]'];
    const run = await runCli(['replay', hl7Out, '--config', dir.file('laughs.yaml', laughs.join('\n') + '\n')]);
    expect(run.code).toBe(2);
    expect(lines(run.stderr)).toEqual([expect.stringMatching(/laughs\.yaml: Excessive alias count.* \(line 2\)$/)]);
  });
});

describe('a list that never ends', () => {
  it.each([['--monitors', 'monitors list'], ['--indicators', 'indicator file']])('%s /dev/zero is one line and exit 2, not a process that fills the memory', async (option, what) => {
    const run = await runCli(['replay', hl7Out, option, '/dev/zero', '--format', 'json']);
    expect(run.code).toBe(2);
    expect(lines(run.stderr).filter((l) => !l.startsWith('{'))).toEqual([`wardwatch: error: /dev/zero: cannot read ${what}: larger than 256 MiB: not read`]);
  });
});

describe('HOME_NET that names no network', () => {
  it.each([[''], [','], [' , ']])("--home-net '%s' is refused, exit 2, before anything is read", async (value) => {
    const run = await runCli(['replay', hl7Out, '--home-net', value, '--format', 'json']);
    expect(run.code).toBe(2);
    expect(lines(run.stderr)).toHaveLength(1);
    expect(run.stderr).toMatch(/--home-net names no network/);
    expect(run.stdout).toBe('');
  });

  it('home_net: [] in the config file is refused, naming the file and line', async () => {
    const config = dir.file('empty-home.yaml', 'format: json\nhome_net: []\n');
    const run = await runCli(['replay', hl7Out, '--config', config]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/empty-home\.yaml: home_net: .*no network.*\(line 2\)/);
  });

  it('--home-net given twice joins both lists', async () => {
    // 198.51.100.0/24 is only in the second: if the last silently won, the monitor would be external.
    expect(await alertIds([hl7Out, '--home-net', '10.0.0.0/8', '--home-net', '198.51.100.0/24'])).toEqual([]);
    // The first alone leaves the server external.
    expect(await alertIds([hl7Out, '--home-net', '10.0.0.0/8', '--home-net', '192.168.0.0/16'])).toEqual([1000002]);
  });
});

describe('the config file names what the command line can', () => {
  it('fail_on_alert: true gives exit 1 when an alert is raised', async () => {
    const config = dir.file('fail.yaml', 'format: json\nfail_on_alert: true\n');
    expect((await runCli(['replay', hl7Out, '--config', config])).code).toBe(1);
    const quiet = dir.file('quiet.pcap', pcapOf(emptyTcpFlow()));
    expect((await runCli(['replay', quiet, '--config', config])).code).toBe(0);
  });

  it('workers: is read from the file: 2 raises the same alerts, 0 is refused naming the line', async () => {
    const config = dir.file('workers.yaml', 'format: json\nworkers: 2\n');
    const run = await runCli(['replay', hl7Out, '--config', config]);
    expect(run.code, run.stderr).toBe(0);
    expect(ofType(parseEveLines(run.stdout), 'alert').map((a) => a.alert.signature_id)).toEqual([1000002]);
    const bad = dir.file('workers0.yaml', 'format: json\nworkers: 0\n');
    const refused = await runCli(['replay', hl7Out, '--config', bad]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/workers0\.yaml: workers: .*\(line 2\)/);
  });

  it('relative paths are taken from the config file directory, not the current one', async () => {
    dir.file('lab.txt', `${HOST.userIndicator}\n`);
    const config = dir.file('relative.yaml', 'format: json\nindicators:\n  - lab.txt\neve: out/eve.json\n');
    mkdirSync(join(dir.path, 'out'), { recursive: true });
    // Started from the repository root, where neither lab.txt nor out/ exist.
    const run = await runCli(['replay', toUserIndicator, '--config', config]);
    expect(run.code, run.stderr).toBe(0);
    const alerts = ofType(parseEveLines(readFileSync(join(dir.path, 'out/eve.json'), 'utf8')), 'alert');
    expect(alerts.map((a) => a.alert.signature_id)).toEqual([1000001]);
  });

  it('stream depth 0 means no limit, as in Suricata, rather than no inspection', async () => {
    const config = dir.file('depth0.yaml', 'format: json\nstream:\n  depth: 0\n');
    expect(await alertIds([hl7Out, '--config', config])).toEqual([1000002]);
  });

  it('live takes its interface from live.interface, and says how to give one when neither is there', async () => {
    const none = await runCli(['live', '--format', 'json']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/live needs an interface: -i IFACE, or live\.interface in --config/);
    const config = dir.file('live.yaml', 'live:\n  interface: wwnosuch0\n');
    const run = await runCli(['live', '--config', config, '--format', 'json']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/wwnosuch0/);
  });
});

describe('--eve - with text output', () => {
  it('is refused with a message rather than mixing JSON into the text on stdout', async () => {
    const run = await runCli(['replay', hl7Out, '--eve', '-', '--format', 'text']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--eve - and --format text would both write to stdout/);
    expect(run.stdout).toBe('');
  });
});

describe('indicator lists that cannot be used', () => {
  it('--indicators naming a file that cannot be read stops the run with one line, exit 2', async () => {
    const missing = join(dir.path, 'no-such-list.txt');
    const run = await runCli(['replay', hl7Out, '--indicators', missing, '--format', 'json']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${missing}: cannot read indicator file: ENOENT`);
    expect(ofType(parseEveLines(run.stdout), 'alert')).toEqual([]);
    const check = await runCli(['rules', 'check', '--indicators', missing]);
    expect(check.code).toBe(2);
    expect(check.stdout).not.toMatch(/OK/);
    expect(check.stderr).toContain(`${missing}: cannot read indicator file: ENOENT`);
  });

  it('a rules directory without indicators/ beside it says so', async () => {
    const { cpSync, readdirSync } = await import('node:fs');
    const rulesOnly = join(dir.path, 'rules-only');
    mkdirSync(rulesOnly);
    for (const name of readdirSync('rules').filter((n) => n.endsWith('.yaml'))) cpSync(join('rules', name), join(rulesOnly, name));
    const run = await runCli(['replay', hl7Out, '--rules', rulesOnly, '--format', 'json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(`${join(rulesOnly, 'indicators')}: no indicator directory beside the rules`);
  });

  it('a STIX indicator past its valid_until is not loaded, and the file says how many were skipped', async () => {
    const stix = (id: string, validUntil: string) => ({
      type: 'indicator',
      spec_version: '2.1',
      id: `indicator--${id}`,
      created: '2025-01-30T00:00:00.000Z',
      modified: '2025-01-30T00:00:00.000Z',
      pattern: `[ipv4-addr:value = '${HOST.userIndicator}']`,
      pattern_type: 'stix',
      valid_from: '2025-01-30T00:00:00Z',
      valid_until: validUntil,
    });
    const expired = dir.file('expired.json', JSON.stringify({ type: 'bundle', id: 'bundle--1', objects: [stix('old', '2025-02-01T00:00:00Z')] }));
    const run = await runCli(['replay', toUserIndicator, '--indicators', expired, '--format', 'json']);
    expect(run.code, run.stderr).toBe(0);
    expect(ofType(parseEveLines(run.stdout), 'alert')).toEqual([]);
    expect(run.stderr).toContain(`${expired}: 1 indicator past valid_until skipped`);
    const current = dir.file('current.json', JSON.stringify({ type: 'bundle', id: 'bundle--2', objects: [stix('new', '2999-01-01T00:00:00Z')] }));
    expect(await alertIds([toUserIndicator, '--indicators', current])).toEqual([1000001]);
  });
});

describe('options a text-only run has nowhere to put', () => {
  it('--flows and --evidence full with text output say where their records go; with an EVE file they do not', async () => {
    const textOnly = await runCli(['replay', hl7Out, '--format', 'text', '--flows', '--evidence', 'full']);
    expect(textOnly.code, textOnly.stderr).toBe(0);
    expect(textOnly.stderr).toMatch(/^wardwatch: warning: --flows: flow records go to EVE.*add --eve FILE$/m);
    expect(textOnly.stderr).toMatch(/^wardwatch: warning: --evidence full: the text output never shows patient data/m);
    const withEve = await runCli(['replay', hl7Out, '--format', 'text', '--flows', '--eve', join(dir.path, 'flows.json')]);
    expect(withEve.code, withEve.stderr).toBe(0);
    expect(withEve.stderr).not.toMatch(/warning: --flows/);
    expect(ofType(parseEveLines(readFileSync(join(dir.path, 'flows.json'), 'utf8')), 'flow').length).toBeGreaterThan(0);
  });
});
