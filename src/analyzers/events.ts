/**
 * Every event the registered analyzers report: one line per protocol (each protocol's events are
 * declared in its own folder). Fields that can hold patient data live only under `phi`, which an
 * analyzer fills only in the `full` evidence mode.
 */
import type { Cms8000Event } from './cms8000/events.js';
import type { DicomEvent } from './dicom/events.js';
import type { Hl7Event } from './hl7/events.js';
import type { LpdEvent } from './lpd/events.js';
import type { RpcEvent } from './rpc/events.js';

export type { EventBase } from './protocol.js';
export type * from './cms8000/events.js';
export type * from './dicom/events.js';
export type * from './hl7/events.js';
export type * from './lpd/events.js';
export type * from './rpc/events.js';

export type AppEvent = Hl7Event | Cms8000Event | LpdEvent | RpcEvent | DicomEvent;
