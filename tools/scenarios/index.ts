/** The detection scenarios: captures of the backdoor's traffic and of look-alikes, with the alerts each must raise. */
import { cms8000Scenarios } from './cms8000.js';
import { hl7Scenarios } from './hl7.js';
import { dicomScenarios } from './dicom.js';
import { lookAlikeScenarios } from './look-alikes.js';
import { monitorScenarios } from './monitors.js';
import { nfsScenarios } from './nfs.js';
import { resyncScenarios } from './resync.js';
import type { DetectionScenario } from './scenario.js';

export { expectationJson, type DetectionScenario, type Expectation } from './scenario.js';
export { SITE } from './network.js';
export { resyncScenarios, TSHARK_SEES_LESS } from './resync.js';

export const detectionScenarios: DetectionScenario[] = [...cms8000Scenarios, ...hl7Scenarios, ...nfsScenarios, ...dicomScenarios, ...monitorScenarios, ...lookAlikeScenarios, ...resyncScenarios];
