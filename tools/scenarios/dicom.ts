/**
 * A CT scanner storing an image over DICOM: to a PACS outside the hospital on port 104, and to
 * the hospital's own PACS on 11112. The image is a water phantom: no patient in it.
 */
import {
  concat,
  DICOM_UID,
  dicomAssociateAc,
  dicomAssociateRq,
  dicomCStoreRq,
  dicomCStoreRsp,
  dicomElement,
  dicomMessage,
  dicomReleaseRp,
  dicomReleaseRq,
  LINKTYPE,
  pcapFile,
  Prng,
} from '../craft/index.js';
import { clockAt, RTT, TcpSession, Timeline, type Endpoint } from './network.js';
import type { DetectionScenario } from './scenario.js';

const MODALITY = '10.1.60.31'; // CT scanner in radiology
const EXTERNAL_PACS = '198.51.100.20';
const INTERNAL_PACS = '172.16.8.5';
const MAX_PDU = 16384;

/** UIDs under 2.25 (a UUID as a decimal number), the root anyone may use. */
const STUDY_UID = '2.25.118031620377215937409145513405562830641';
const SERIES_UID = '2.25.118031620377215937409145513405562830642';
const INSTANCE_UID = '2.25.118031620377215937409145513405562830643';

/** A CT image of a QA water phantom, implicit VR little endian, elements in tag order. */
function phantomImage(): Buffer {
  const size = 96;
  const pixels = new Prng(104).bytes(size * size * 2);
  return concat(
    dicomElement(0x0008, 0x0016, DICOM_UID.ctImageStorage, 'uid'),
    dicomElement(0x0008, 0x0018, INSTANCE_UID, 'uid'),
    dicomElement(0x0008, 0x0060, 'CT'),
    dicomElement(0x0010, 0x0010, 'PHANTOM^WATER'),
    dicomElement(0x0010, 0x0020, 'QA-PHANTOM-01'),
    dicomElement(0x0020, 0x000d, STUDY_UID, 'uid'),
    dicomElement(0x0020, 0x000e, SERIES_UID, 'uid'),
    dicomElement(0x0028, 0x0010, size, 'us'),
    dicomElement(0x0028, 0x0011, size, 'us'),
    dicomElement(0x0028, 0x0100, 16, 'us'),
    dicomElement(0x7fe0, 0x0010, pixels, 'bytes'),
  );
}

/** Association, one C-STORE and its response, release: how a modality sends an image. */
function storeImage(opts: { server: Endpoint; calledAeTitle: string; rtt: number; start: [number, number]; clientPort: number }): Buffer {
  const timeline = new Timeline(clockAt(...opts.start));
  const s = new TcpSession(timeline, { client: { ip: MODALITY, port: opts.clientPort }, server: opts.server, rtt: opts.rtt, clientIsn: 0x3d1c0a01, serverIsn: 0x6a2b4c11 });
  const called = opts.calledAeTitle;
  const calling = 'CT_SCANNER';
  const user = { maxPduLength: MAX_PDU, implementationClassUid: '2.25.287425710531052373542512343283541939121', implementationVersion: 'CTSCAN_4_2' };
  const instance = { messageId: 1, sopClassUid: DICOM_UID.ctImageStorage, sopInstanceUid: INSTANCE_UID };
  s.handshake();
  s.pause(2_000).send(
    'client',
    dicomAssociateRq({
      calledAeTitle: called,
      callingAeTitle: calling,
      contexts: [
        { id: 1, abstractSyntax: DICOM_UID.ctImageStorage, transferSyntaxes: [DICOM_UID.explicitVrLittleEndian, DICOM_UID.implicitVrLittleEndian] },
        { id: 3, abstractSyntax: DICOM_UID.secondaryCapture, transferSyntaxes: [DICOM_UID.jpegBaseline] },
      ],
      ...user,
    }),
  );
  s.pause(1_500).send(
    'server',
    dicomAssociateAc({
      calledAeTitle: called,
      callingAeTitle: calling,
      contexts: [
        { id: 1, result: 0, transferSyntax: DICOM_UID.implicitVrLittleEndian },
        { id: 3, result: 4, transferSyntax: DICOM_UID.jpegBaseline },
      ],
      maxPduLength: MAX_PDU,
      implementationClassUid: '2.25.199733946418151416208826219128612237711',
      implementationVersion: 'PACS_7',
    }),
  );
  s.pause(800).send('client', concat(...dicomMessage(1, true, dicomCStoreRq(instance), MAX_PDU), ...dicomMessage(1, false, phantomImage(), MAX_PDU)));
  s.pause(6_000).send('server', concat(...dicomMessage(1, true, dicomCStoreRsp(instance), MAX_PDU)));
  s.pause(500).send('client', dicomReleaseRq());
  s.pause(300).send('server', dicomReleaseRp());
  s.pause(200).close('client');
  return pcapFile({ linkType: LINKTYPE.ETHERNET }, timeline.records);
}

export const dicomScenarios: DetectionScenario[] = [
  {
    file: 'dicom-association-external.pcap',
    description: `CT scanner ${MODALITY} (AE CT_SCANNER) associates to PACS_EXT at ${EXTERNAL_PACS}:104, stores one CT image of a water phantom (C-STORE in P-DATA-TF) and releases`,
    expected: {
      alerts: { '1000008': 1 },
      why: `one TCP flow on which a HOME_NET modality asks an outside host (${EXTERNAL_PACS}) for a DICOM association: 1000008 once; the image itself travels in P-DATA-TF, whose datasets no rule reads`,
    },
    build: () => storeImage({ server: { ip: EXTERNAL_PACS, port: 104 }, calledAeTitle: 'PACS_EXT', rtt: RTT.internet, start: [11, 20], clientPort: 50412 }),
  },
  {
    file: 'dicom-internal-pacs.pcap',
    description: `CT scanner ${MODALITY} stores the same image on the hospital's own PACS ${INTERNAL_PACS}:11112 (AE PACS_MAIN)`,
    expected: {
      alerts: {},
      why: 'both ends are inside HOME_NET (172.16.0.0/12 is part of it): a modality storing images on the hospital PACS is what it is for',
    },
    build: () => storeImage({ server: { ip: INTERNAL_PACS, port: 11112 }, calledAeTitle: 'PACS_MAIN', rtt: RTT.lan, start: [11, 30], clientPort: 50433 }),
  },
];
