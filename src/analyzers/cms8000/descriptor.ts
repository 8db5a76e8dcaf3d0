/** The CMS8000 central-station protocol as the registry knows it: analyzer, events, renderings. */
import { defineEvent, eveFields, type EveObject, type ProtocolDescriptor } from '../protocol.js';
import { CMS8000_BLOCK, cms8000Analyzer } from './analyzer.js';
import type { Cms8000DetectedEvent, Cms8000PatientEvent, Cms8000SummaryEvent } from './events.js';

/** A block type as '0x' and two upper-case hex digits, e.g. '0x3E'. */
export function hexByte(value: number): string {
  return '0x' + (value & 0xff).toString(16).toUpperCase().padStart(2, '0');
}

/** A patient block's fields, for the full evidence mode only. */
function patientPhi(p: NonNullable<Cms8000PatientEvent['phi']>): EveObject {
  return {
    department: p.department,
    bed: p.bed,
    name: p.name,
    patient_number: p.patientNumber,
    admit_date: p.admitDate,
    height_cm: p.heightCm,
    weight: p.weight,
    birth_date: p.birthDate,
    blood_type: p.bloodType,
    doctor: p.doctor,
  };
}

const detected = defineEvent<Cms8000DetectedEvent>({
  type: 'cms8000.detected',
  summary: 'a run of well-formed CMS8000 blocks made the protocol certain (once per flow)',
  fields: { blockTypes: 'numbers', incomplete: 'strings' },
  proves: () => 'cms8000',
  eve(event, mode) {
    const types = event.blockTypes;
    const cms8000 = eveFields({
      event: 'detected',
      block_types: types?.map(hexByte),
      patient_block_seen: types === undefined ? undefined : types.includes(CMS8000_BLOCK.patient),
      incomplete: event.incomplete,
    });
    if (mode === 'full' && event.phi) cms8000.phi = patientPhi(event.phi);
    return { cms8000 };
  },
  text(event) {
    if (event.blockTypes === undefined) return 'CMS8000 protocol';
    const patient = event.blockTypes.includes(CMS8000_BLOCK.patient);
    const incomplete = event.incomplete === undefined ? '' : `, incomplete: ${event.incomplete.join(',')}`;
    return `CMS8000 blocks ${event.blockTypes.map(hexByte).join(',')}${patient ? ' (patient data)' : ''}${incomplete}`;
  },
});

const patient = defineEvent<Cms8000PatientEvent>({
  type: 'cms8000.patient',
  summary: 'a CMS8000 patient information block (0x3E)',
  fields: { length: null },
  proves: () => 'cms8000',
  eve(event, mode) {
    const cms8000 = eveFields({ event: 'patient', block_types: [hexByte(CMS8000_BLOCK.patient)], patient_block_seen: true, length: event.length });
    if (mode === 'full' && event.phi) cms8000.phi = patientPhi(event.phi);
    return { cms8000 };
  },
  text: (event) => `CMS8000 patient block ${hexByte(CMS8000_BLOCK.patient)}${event.length !== undefined ? ` (${event.length} bytes)` : ''} (patient data)`,
});

const summary = defineEvent<Cms8000SummaryEvent>({
  type: 'cms8000.summary',
  summary: 'at the end of a CMS8000 flow: blocks seen by type, patient blocks, malformed blocks',
  fields: { patientBlocks: 'number', blockCounts: null, malformedBlocks: null, skippedBytes: null },
  eve(event) {
    const counts = event.blockCounts;
    return {
      cms8000: eveFields({
        event: 'summary',
        block_types: counts === undefined ? undefined : Object.keys(counts).sort(),
        block_counts: counts === undefined ? undefined : { ...counts },
        patient_block_seen: event.patientBlocks === undefined ? undefined : event.patientBlocks > 0,
        patient_blocks: event.patientBlocks,
        malformed_blocks: event.malformedBlocks,
        skipped_bytes: event.skippedBytes,
      }),
    };
  },
  text(event) {
    if (event.blockCounts === undefined) return 'CMS8000 protocol';
    const types = Object.keys(event.blockCounts).sort();
    const patient = (event.patientBlocks ?? 0) > 0;
    return `CMS8000 blocks ${types.join(',')}${patient ? ` (patient data, ${event.patientBlocks} patient blocks)` : ''}`;
  },
});

export const cms8000Protocol: ProtocolDescriptor = {
  name: 'cms8000',
  appProtos: ['cms8000'],
  analyzer: cms8000Analyzer,
  events: [detected, patient, summary],
  eveExtensionKeys: ['cms8000'],
  // The monitor opens the connection to its central station: the client is the backdoored device.
  speaker: { label: 'CMS8000', concern: 2 },
};
