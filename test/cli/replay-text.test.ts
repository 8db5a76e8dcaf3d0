import { chmodSync, readFileSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  escapeRegExp,
  cms8000Flow,
  expectedTextTime,
  hl7Flow,
  HOST,
  lines,
  merge,
  MLLP_END,
  mountCallUdp,
  ofType,
  packetEndingWith,
  parseEveLines,
  pcapOf,
  runCli,
  tempDir,
  type TempDir,
} from '../support/cli.js';

let dir: TempDir;
let capture: string;
const hl7 = hl7Flow();
const mount = mountCallUdp({ startSec: 10 });
const cms = cms8000Flow({ startSec: 20 });
const records = merge(hl7, mount, cms);

beforeAll(() => {
  dir = tempDir();
  capture = dir.file('ward.pcap', pcapOf(records));
});
afterAll(() => dir.remove());

describe('replay --format text', () => {
  it('prints one readable line per alert, then the summary', async () => {
    const run = await runCli(['replay', capture, '--format', 'text']);
    expect(run.code, run.stderr).toBe(0);
    const out = lines(run.stdout);
    expect(out.some((l) => l.startsWith('{'))).toBe(false);

    const summaryStart = out.findIndex((l) => l.startsWith('capture '));
    // Four alert lines, then the indicator entry they matched, described once.
    expect(summaryStart).toBe(6);
    const alertLines = out.slice(0, 4);
    expect(out.slice(4, 6)).toEqual(['indicators matched', expect.stringMatching(new RegExp(`^  ${escapeRegExp(HOST.backdoor)}: 1 alert \\| .*CMS8000`))]);
    expect(alertLines.join('\n')).not.toMatch(/NFS update server/);

    const hl7Time = expectedTextTime(hl7[packetEndingWith(hl7, MLLP_END) - 1]);
    expect(alertLines[0]).toMatch(
      new RegExp(
        `^${escapeRegExp(hl7Time)} \\[1:high\\] ${escapeRegExp(`${HOST.monitor}:40422 -> ${HOST.external}:515`)} TCP/hl7 ` +
          `Cleartext patient data to an external host on TCP 515 .*\\(sid 1000002\\) \\| .*ORU\\^R01.*MLLP`,
      ),
    );
    expect(alertLines[1]).toMatch(
      new RegExp(`^${escapeRegExp(expectedTextTime(mount[0]))} \\[1:high\\] ${escapeRegExp(`${HOST.monitor}:1021 -> ${HOST.external}:20048`)} UDP.*\\(sid 1000004\\) \\| .*MNT /pm`),
    );
    expect(alertLines[2]).toMatch(new RegExp(`\\[1:high\\] ${escapeRegExp(`${HOST.monitor}:40312 -> ${HOST.backdoor}:515`)} TCP.*\\(sid 1000001\\) \\| indicator ${escapeRegExp(HOST.backdoor)}`));
    expect(alertLines[3]).toMatch(new RegExp(`\\[1:high\\] ${escapeRegExp(`${HOST.monitor}:40312 -> ${HOST.backdoor}:515`)} TCP/cms8000.*\\(sid 1000002\\) \\| CMS8000 blocks .*0x3E`));

    const summary = out.slice(summaryStart).join('\n');
    expect(summary).toContain(`capture  ${capture}: pcap, ${records.length} packets, complete`);
    expect(summary).toMatch(new RegExp(`^traffic\\s+${records.length} packets`, 'm'));
    expect(summary).toMatch(/^flows\s+3 \(tcp 2, udp 1\)/m);
    expect(summary).toMatch(/^alerts\s+4$/m);
    expect(summary).toMatch(new RegExp(`sid 1000001 .*: 1 × from ${escapeRegExp(HOST.monitor)}$`, 'm'));
    expect(summary).toMatch(new RegExp(`sid 1000002 .*: 2 × from ${escapeRegExp(HOST.monitor)}$`, 'm'));
    expect(summary).toMatch(new RegExp(`sid 1000004 .*: 1 × from ${escapeRegExp(HOST.monitor)}$`, 'm'));
    expect(summary).toMatch(/^Suspected devices \(1\)$/m);
    const device = out.find((l) => l.startsWith(`  ${HOST.monitor}:`));
    expect(device).toBeDefined();
    expect(device).toContain(`talked to indicator ${HOST.backdoor}`);
    expect(device).toContain('speaks CMS8000');
    expect(device).toContain('speaks HL7 as MONITOR|ICU3^BED12');
    expect(device).toContain('3 flows');
  });

  it('--evidence none leaves the payload evidence out of the alert lines', async () => {
    const run = await runCli(['replay', capture, '--format', 'text', '--evidence', 'none']);
    expect(run.code, run.stderr).toBe(0);
    const alertLines = lines(run.stdout).filter((l) => /\(sid \d+\)/.test(l));
    expect(alertLines).toHaveLength(4);
    expect(run.stdout).not.toContain('ORU^R01');
    expect(run.stdout).not.toContain('MNT /pm');
    // The indicator is no payload evidence: it stays.
    expect(alertLines[2]).toContain(`indicator ${HOST.backdoor}`);
  });
});

describe('replay --eve FILE', () => {
  it('writes the EVE records to the file while stdout carries text', async () => {
    const eveFile = `${dir.path}/eve-text.json`;
    const run = await runCli(['replay', capture, '--format', 'text', '--eve', eveFile]);
    expect(run.code, run.stderr).toBe(0);
    expect(lines(run.stdout).filter((l) => l.startsWith('{'))).toEqual([]);
    expect(lines(run.stdout).filter((l) => /\(sid \d+\)/.test(l))).toHaveLength(4);
    const eve = parseEveLines(readFileSync(eveFile, 'utf8'));
    expect(ofType(eve, 'alert').map((r) => r.alert.signature_id)).toEqual([1000002, 1000004, 1000001, 1000002]);
    expect(eve.slice(-2).map((r) => r.event_type)).toEqual(['stats', 'inventory']);
    expect(ofType(eve, 'stats')).toHaveLength(1);
  });

  it('with JSON on stdout too, the file and stdout hold the same alerts', async () => {
    const eveFile = `${dir.path}/eve-json.json`;
    const run = await runCli(['replay', capture, '--format', 'json', '--eve', eveFile, '--flows']);
    expect(run.code, run.stderr).toBe(0);
    const fromStdout = parseEveLines(run.stdout);
    const fromFile = parseEveLines(readFileSync(eveFile, 'utf8'));
    expect(ofType(fromFile, 'alert')).toEqual(ofType(fromStdout, 'alert'));
    expect(ofType(fromFile, 'flow')).toEqual(ofType(fromStdout, 'flow'));
    expect(ofType(fromFile, 'flow')).toHaveLength(3);
  });

  it('--evidence full creates the file readable by its owner only (mode 0600)', async () => {
    const eveFile = `${dir.path}/eve-full.json`;
    const run = await runCli(['replay', capture, '--format', 'text', '--eve', eveFile, '--evidence', 'full']);
    expect(run.code, run.stderr).toBe(0);
    expect(statSync(eveFile).mode & 0o777).toBe(0o600);
    expect(ofType(parseEveLines(readFileSync(eveFile, 'utf8')), 'alert')).toHaveLength(4);
  });

  it('--evidence full resets an existing world-readable file to mode 0600 before writing', async () => {
    const eveFile = dir.file('eve-existing.json', 'old content\n');
    chmodSync(eveFile, 0o644);
    const run = await runCli(['replay', capture, '--format', 'text', '--eve', eveFile, '--evidence', 'full']);
    expect(run.code, run.stderr).toBe(0);
    expect(statSync(eveFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(eveFile, 'utf8')).not.toContain('old content');
  });
});
