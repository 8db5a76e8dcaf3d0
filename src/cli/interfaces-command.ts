import { DeviceListError, listCaptureDevices, type CaptureDevice } from '../capture/live-interfaces.js';
import { createLogger } from './logger.js';
import { EXIT_OK, EXIT_USAGE } from './replay-command.js';

/** `wardwatch interfaces`: the capture devices `live -i` accepts, with addresses and descriptions. */
export async function interfaces(options: { json?: boolean; logLevel?: string }): Promise<number> {
  const log = createLogger((options.logLevel ?? 'info') as 'info');
  let devices: CaptureDevice[];
  try {
    const list = await listCaptureDevices();
    if (list.capUnavailable !== null) log.debug({ reason: list.capUnavailable }, 'cap binding unavailable; listed devices with tcpdump -D');
    devices = list.devices;
  } catch (err) {
    if (!(err instanceof DeviceListError)) throw err;
    process.stderr.write(`wardwatch: error: ${err.message}\n`);
    return EXIT_USAGE;
  }
  process.stdout.write(options.json ? `${JSON.stringify(devices)}\n` : formatDevices(devices));
  return EXIT_OK;
}

export function formatDevices(devices: readonly CaptureDevice[]): string {
  const rows = devices.map((d) => [d.name, d.addresses.join(' ') || '-', [d.description, d.loopback ? 'loopback' : null].filter(Boolean).join('; ')]);
  const header = ['NAME', 'ADDRESSES', 'DESCRIPTION'];
  const widths = [0, 1].map((i) => Math.max(header[i].length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => `${r[0].padEnd(widths[0])}  ${r[1].padEnd(widths[1])}  ${r[2]}`.trimEnd() + '\n';
  return [header, ...rows].map(line).join('');
}
