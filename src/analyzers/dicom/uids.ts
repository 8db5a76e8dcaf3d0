/**
 * Short names for the DICOM UIDs a hospital network carries most (PS3.6 annex A): the
 * application context, SOP classes as proposed in abstract syntaxes, and transfer syntaxes.
 * Anything else is shown as the UID itself.
 */

const STORAGE = '1.2.840.10008.5.1.4.1.1.';

const UID_NAMES: ReadonlyMap<string, string> = new Map([
  ['1.2.840.10008.3.1.1.1', 'DICOM Application Context'],

  ['1.2.840.10008.1.1', 'Verification'],
  ['1.2.840.10008.1.20.1', 'Storage Commitment Push'],
  ['1.2.840.10008.3.1.2.3.3', 'MPPS'],
  ['1.2.840.10008.5.1.4.31', 'Modality Worklist FIND'],
  ['1.2.840.10008.5.1.4.1.2.1.1', 'Patient Root Q/R FIND'],
  ['1.2.840.10008.5.1.4.1.2.1.2', 'Patient Root Q/R MOVE'],
  ['1.2.840.10008.5.1.4.1.2.1.3', 'Patient Root Q/R GET'],
  ['1.2.840.10008.5.1.4.1.2.2.1', 'Study Root Q/R FIND'],
  ['1.2.840.10008.5.1.4.1.2.2.2', 'Study Root Q/R MOVE'],
  ['1.2.840.10008.5.1.4.1.2.2.3', 'Study Root Q/R GET'],

  [STORAGE + '1', 'CR Image Storage'],
  [STORAGE + '1.1', 'DX Image Storage (presentation)'],
  [STORAGE + '1.1.1', 'DX Image Storage (processing)'],
  [STORAGE + '1.2', 'Mammography Image Storage (presentation)'],
  [STORAGE + '1.2.1', 'Mammography Image Storage (processing)'],
  [STORAGE + '2', 'CT Image Storage'],
  [STORAGE + '2.1', 'Enhanced CT Image Storage'],
  [STORAGE + '3.1', 'US Multi-frame Image Storage'],
  [STORAGE + '4', 'MR Image Storage'],
  [STORAGE + '4.1', 'Enhanced MR Image Storage'],
  [STORAGE + '6.1', 'US Image Storage'],
  [STORAGE + '7', 'Secondary Capture Image Storage'],
  [STORAGE + '7.1', 'Multi-frame Single Bit SC Image Storage'],
  [STORAGE + '7.2', 'Multi-frame Grayscale Byte SC Image Storage'],
  [STORAGE + '7.3', 'Multi-frame Grayscale Word SC Image Storage'],
  [STORAGE + '7.4', 'Multi-frame True Color SC Image Storage'],
  [STORAGE + '9.1.1', '12-lead ECG Waveform Storage'],
  [STORAGE + '11.1', 'Grayscale Softcopy Presentation State Storage'],
  [STORAGE + '12.1', 'XA Image Storage'],
  [STORAGE + '12.2', 'XRF Image Storage'],
  [STORAGE + '13.1.3', 'Breast Tomosynthesis Image Storage'],
  [STORAGE + '20', 'NM Image Storage'],
  [STORAGE + '66', 'Raw Data Storage'],
  [STORAGE + '77.1.4', 'VL Photographic Image Storage'],
  [STORAGE + '88.11', 'Basic Text SR Storage'],
  [STORAGE + '88.22', 'Enhanced SR Storage'],
  [STORAGE + '88.33', 'Comprehensive SR Storage'],
  [STORAGE + '104.1', 'Encapsulated PDF Storage'],
  [STORAGE + '128', 'PET Image Storage'],
  [STORAGE + '130', 'Enhanced PET Image Storage'],
  [STORAGE + '481.1', 'RT Image Storage'],
  [STORAGE + '481.2', 'RT Dose Storage'],
  [STORAGE + '481.3', 'RT Structure Set Storage'],
  [STORAGE + '481.5', 'RT Plan Storage'],

  ['1.2.840.10008.1.2', 'Implicit VR Little Endian'],
  ['1.2.840.10008.1.2.1', 'Explicit VR Little Endian'],
  ['1.2.840.10008.1.2.1.99', 'Deflated Explicit VR Little Endian'],
  ['1.2.840.10008.1.2.2', 'Explicit VR Big Endian'],
  ['1.2.840.10008.1.2.4.50', 'JPEG Baseline'],
  ['1.2.840.10008.1.2.4.51', 'JPEG Extended'],
  ['1.2.840.10008.1.2.4.57', 'JPEG Lossless'],
  ['1.2.840.10008.1.2.4.70', 'JPEG Lossless SV1'],
  ['1.2.840.10008.1.2.4.80', 'JPEG-LS Lossless'],
  ['1.2.840.10008.1.2.4.81', 'JPEG-LS Near-Lossless'],
  ['1.2.840.10008.1.2.4.90', 'JPEG 2000 Lossless'],
  ['1.2.840.10008.1.2.4.91', 'JPEG 2000'],
  ['1.2.840.10008.1.2.4.100', 'MPEG2 Main Profile'],
  ['1.2.840.10008.1.2.4.102', 'MPEG-4 AVC/H.264'],
  ['1.2.840.10008.1.2.5', 'RLE Lossless'],
]);

/** The short name of a UID, or the UID itself when it has none here. */
export function uidName(uid: string): string {
  return UID_NAMES.get(uid) ?? uid;
}
