/** LPD (RFC 1179) as the registry knows it: analyzer, events, renderings. */
import { defineEvent, eveFields, type ProtocolDescriptor } from '../protocol.js';
import { lpdAnalyzer } from './analyzer.js';
import type { LpdCommandEvent, NotLpdEvent } from './events.js';

const command = defineEvent<LpdCommandEvent>({
  type: 'lpd.command',
  summary: 'an LPD daemon command or receive-job subcommand',
  fields: { command: 'string', code: 'number', queue: 'string', size: null },
  proves: () => 'lpd',
  eve: (event) => ({ lpd: eveFields({ command: event.command, code: event.code, queue: event.queue, size: event.size }) }),
  text: (event) => `LPD ${event.command}${event.queue !== undefined ? ` queue ${event.queue}` : ''}${event.size !== undefined ? ` ${event.size} bytes` : ''}`,
});

const notLpd = defineEvent<NotLpdEvent>({
  type: 'lpd.not_lpd',
  summary: 'a flow the LPD analyzer is sure does not speak LPD, and what its first bytes look like',
  fields: { looksLike: 'string' },
  eve: (event) => ({ lpd: { looks_like: event.looksLike } }),
  text: (event) => `not LPD: ${event.looksLike} bytes`,
});

export const lpdProtocol: ProtocolDescriptor = {
  name: 'lpd',
  appProtos: ['lpd'],
  analyzer: lpdAnalyzer,
  events: [command, notLpd],
  eveExtensionKeys: ['lpd'],
};
