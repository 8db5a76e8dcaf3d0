import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CMS8000_PHI,
  cms8000Flow,
  FAKE_PATIENT,
  hl7Flow,
  HL7_PHI,
  merge,
  ofType,
  parseEveLines,
  pcapOf,
  runCli,
  tempDir,
  type CliResult,
  type TempDir,
} from '../support/cli.js';

const ALL_PHI = [...HL7_PHI, ...CMS8000_PHI];

let dir: TempDir;
let capture: string;
beforeAll(() => {
  dir = tempDir();
  capture = dir.file('patients.pcap', pcapOf(merge(hl7Flow(), cms8000Flow({ startSec: 5 }))));
});
afterAll(() => dir.remove());

interface Outputs {
  run: CliResult;
  eveText: string;
}

async function replay(format: 'json' | 'text', evidence: string[], eveName: string): Promise<Outputs> {
  const eveFile = `${dir.path}/${eveName}`;
  // Debug logging on purpose: no log level may leak patient data either.
  const run = await runCli(['replay', capture, '--format', format, '--eve', eveFile, '--log-level', 'debug', ...evidence]);
  expect(run.code).toBe(0);
  return { run, eveText: readFileSync(eveFile, 'utf8') };
}

function leaked(text: string): string[] {
  return ALL_PHI.filter((phi) => text.includes(phi));
}

function missing(text: string, wanted: readonly string[]): string[] {
  return wanted.filter((phi) => !text.includes(phi));
}

describe('patient data in the output', () => {
  for (const [label, evidence] of [
    ['by default (redacted)', []],
    ['with --evidence none', ['--evidence', 'none']],
  ] as const) {
    for (const format of ['json', 'text'] as const) {
      it(`${label}, --format ${format}: no patient data on stdout, stderr or in the EVE file`, async () => {
        const { run, eveText } = await replay(format, [...evidence], `eve-${format}-${evidence.length}.json`);
        expect(ofType(parseEveLines(eveText), 'alert').map((r) => r.alert.signature_id)).toEqual([1000002, 1000001, 1000002]);
        expect(leaked(run.stdout)).toEqual([]);
        expect(leaked(run.stderr)).toEqual([]);
        expect(leaked(eveText)).toEqual([]);
      });
    }
  }

  it('redacted alerts still carry the structure: message type, identity segments, block types', async () => {
    const { eveText } = await replay('json', [], 'eve-structure.json');
    const [hl7Alert, , cmsAlert] = ofType(parseEveLines(eveText), 'alert');
    expect(hl7Alert.hl7).toMatchObject({ message_type: 'ORU^R01', identity_segments: ['PID'], framing: 'mllp' });
    expect(hl7Alert.hl7).not.toHaveProperty('phi');
    expect(cmsAlert.cms8000.block_types).toContain('0x3E');
    expect(cmsAlert.cms8000.patient_block_seen).toBe(true);
    expect(cmsAlert.cms8000).not.toHaveProperty('phi');
  });

  it('--evidence none leaves the analyzer evidence objects out of the alerts', async () => {
    const { eveText } = await replay('json', ['--evidence', 'none'], 'eve-none-objects.json');
    for (const alert of ofType(parseEveLines(eveText), 'alert')) {
      expect(alert).not.toHaveProperty('hl7');
      expect(alert).not.toHaveProperty('cms8000');
    }
  });

  it('--evidence full: the EVE file holds the HL7 message, the terminal text and stderr do not', async () => {
    const { run, eveText } = await replay('text', ['--evidence', 'full'], 'eve-full-hl7.json');
    expect(missing(eveText, HL7_PHI)).toEqual([]);
    const [hl7Alert] = ofType(parseEveLines(eveText), 'alert');
    expect(hl7Alert.hl7.phi.text).toContain(`PID|1||${FAKE_PATIENT.hl7Mrn}`);
    // src/output/text.ts: text never carries patient data, whatever the evidence mode.
    expect(leaked(run.stdout)).toEqual([]);
    expect(leaked(run.stderr)).toEqual([]);
  });

  it('--evidence full: the EVE file holds the CMS8000 patient block fields (name, patient number)', async () => {
    const { run, eveText } = await replay('text', ['--evidence', 'full'], 'eve-full-cms.json');
    expect(missing(eveText, CMS8000_PHI)).toEqual([]);
    expect(leaked(run.stdout)).toEqual([]);
    expect(leaked(run.stderr)).toEqual([]);
  });

  it('--evidence full with a rule on the CMS8000 patient block: the alert carries the decoded fields', async () => {
    const rules = tempDir();
    try {
      rules.file(
        'patient.yaml',
        [
          'rules:',
          '  - id: 9000001',
          '    rev: 1',
          '    name: CMS8000 patient block',
          '    category: Test',
          '    severity: 3',
          '    match:',
          '      event:',
          '        type: cms8000.patient',
          '',
        ].join('\n'),
      );
      const full = await runCli(['replay', capture, '--format', 'json', '--rules', rules.path, '--evidence', 'full']);
      expect(full.code).toBe(0);
      const [alert] = ofType(parseEveLines(full.stdout), 'alert');
      expect(alert.cms8000.phi).toMatchObject({ name: FAKE_PATIENT.cmsName, patient_number: FAKE_PATIENT.cmsNumber, doctor: FAKE_PATIENT.cmsDoctor });

      const redacted = await runCli(['replay', capture, '--format', 'json', '--rules', rules.path]);
      expect(ofType(parseEveLines(redacted.stdout), 'alert')).toHaveLength(1);
      expect(leaked(redacted.stdout)).toEqual([]);
    } finally {
      rules.remove();
    }
  });
});
