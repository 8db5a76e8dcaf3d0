/** HL7 v2 as the registry knows it: its analyzer, its one event, and how that event is shown. */
import { defineEvent, eveFields, type ProtocolDescriptor } from '../protocol.js';
import { hl7Analyzer } from './analyzer.js';
import type { Hl7MessageEvent } from './events.js';

function messageType(event: Hl7MessageEvent): string {
  if (event.messageType === '') return '';
  return event.triggerEvent === '' ? event.messageType : `${event.messageType}^${event.triggerEvent}`;
}

const message = defineEvent<Hl7MessageEvent>({
  type: 'hl7.message',
  summary: 'one HL7 v2 message (or batch header): type, version, sender, segment ids',
  fields: {
    framing: 'string',
    messageType: 'string',
    triggerEvent: 'string',
    version: 'string',
    sendingApplication: 'string',
    sendingFacility: 'string',
    segments: 'strings',
    identitySegments: 'strings',
    controlId: null,
    length: null,
    truncated: null,
    incomplete: 'strings',
  },
  proves: () => 'hl7',
  eve(event, mode) {
    const hl7 = eveFields({
      message_type: messageType(event),
      version: event.version,
      control_id: event.controlId,
      sending_application: event.sendingApplication,
      sending_facility: event.sendingFacility,
      framing: event.framing,
      segments: event.segments,
      identity_segments: event.identitySegments,
      length: event.length,
      truncated: event.truncated === true,
      // The alert's evidence says in one list what was incomplete.
      incomplete: event.truncated || event.incomplete ? [...(event.truncated ? ['truncated'] : []), ...(event.incomplete ?? [])] : undefined,
    });
    if (mode === 'full' && event.phi) hl7.phi = { text: event.phi.text };
    return { hl7 };
  },
  text(event) {
    const header = event.segments[0] ?? '';
    const type = event.messageType !== '' ? messageType(event) : header === 'MSH' ? 'message of no standard type' : `batch header ${header}`.trim();
    let text = `HL7 ${type} via ${event.framing === 'mllp' ? 'MLLP' : 'bare TCP'}${event.version !== '' ? `, v${event.version}` : ''}`;
    if (event.identitySegments.length > 0) text += `, patient identity in ${event.identitySegments.join(',')}`;
    if (event.truncated) text += ', truncated';
    if (event.incomplete !== undefined) text += `, incomplete: ${event.incomplete.join(',')}`;
    return text;
  },
  names(event) {
    // Acknowledgements come back from the receiver; the sender is who the message names.
    if (event.messageType === 'ACK') return [];
    // Joined by the field separator, as in MSH: each field may have ^ components of its own.
    const name = event.sendingFacility === '' ? event.sendingApplication : `${event.sendingApplication}|${event.sendingFacility}`;
    return [{ host: 'sender', name }];
  },
});

export const hl7Protocol: ProtocolDescriptor = {
  name: 'hl7',
  appProtos: ['hl7'],
  analyzer: hl7Analyzer,
  events: [message],
  eveExtensionKeys: ['hl7'],
  // MLLP: the side that opens the connection sends the messages, the other acknowledges.
  speaker: { label: 'HL7', concern: 1 },
};
