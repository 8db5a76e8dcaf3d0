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
