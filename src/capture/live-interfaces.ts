import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { networkInterfaces } from 'node:os';
import { isIPv4 } from 'node:net';

/** One capture device as libpcap lists it. */
export interface CaptureDevice {
  name: string;
  description: string | null;
  /** Addresses with their prefix length, e.g. 192.0.2.2/24. */
  addresses: string[];
  loopback: boolean;
}

export interface DeviceList {
  devices: CaptureDevice[];
  /** Which lister answered: the libpcap binding, or `tcpdump -D` when the binding is unavailable. */
  via: 'cap' | 'tcpdump';
  /** Why the binding was not used, for debug logs. */
  capUnavailable: string | null;
}

/** The part of the optional `cap` binding used here. */
interface CapModule {
  Cap: {
    deviceList(): Array<{ name: string; description?: string; addresses?: Array<{ addr?: string; netmask?: string }>; flags?: string }>;
  };
}

export class DeviceListError extends Error {}

/**
 * Lists capture devices of this network namespace through libpcap (pcap_findalldevs): the `cap`
 * binding when it loads, else `tcpdump -D` with addresses from the operating system.
 */
export async function listCaptureDevices(tcpdump = 'tcpdump'): Promise<DeviceList> {
  let capUnavailable: string;
  try {
    const cap = createRequire(import.meta.url)('cap') as CapModule;
    return { devices: cap.Cap.deviceList().map(fromCap), via: 'cap', capUnavailable: null };
  } catch (err) {
    capUnavailable = (err as Error).message.split('\n')[0];
  }
  return { devices: await listWithTcpdump(tcpdump), via: 'tcpdump', capUnavailable };
}

function fromCap(d: ReturnType<CapModule['Cap']['deviceList']>[number]): CaptureDevice {
  const addresses: string[] = [];
  for (const a of d.addresses ?? []) {
    if (!a.addr) continue;
    addresses.push(a.netmask ? `${a.addr}/${prefixLength(a.netmask)}` : a.addr);
  }
  return { name: d.name, description: d.description ?? null, addresses, loopback: (d.flags ?? '').includes('LOOPBACK') };
}

/** Prefix length of a dotted IPv4 or colon IPv6 netmask. */
export function prefixLength(netmask: string): number {
  let bits = 0;
  if (isIPv4(netmask)) {
    for (const part of netmask.split('.')) bits += popcount(Number(part));
    return bits;
  }
  const [head, tail = ''] = netmask.split('::');
  for (const group of [...head.split(':'), ...tail.split(':')]) if (group !== '') bits += popcount(parseInt(group, 16));
  return bits;
}

function popcount(n: number): number {
  let bits = 0;
  for (let v = n; v > 0; v >>>= 1) bits += v & 1;
  return bits;
}

function listWithTcpdump(tcpdump: string): Promise<CaptureDevice[]> {
  return new Promise((resolve, reject) => {
    execFile(tcpdump, ['-D'], { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) {
        const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'tcpdump is not installed' : stderr.trim().split('\n')[0] || err.message;
        reject(new DeviceListError(`cannot list capture devices: ${reason}`));
        return;
      }
      resolve(parseTcpdumpDeviceList(stdout, networkInterfaces()));
    });
  });
}

/**
 * Parses `tcpdump -D`: lines like `1.eth0 [Up, Running, Connected]` or
 * `2.any (Pseudo-device that captures on all interfaces) [Up, Running]`.
 */
export function parseTcpdumpDeviceList(text: string, osInterfaces: ReturnType<typeof networkInterfaces> = {}): CaptureDevice[] {
  const devices: CaptureDevice[] = [];
  for (const line of text.split('\n')) {
    const m = /^\d+\.(\S+)(?: \((.*)\))?(?: \[(.*)\])?\s*$/.exec(line);
    if (m === null) continue;
    const [, name, description, flags = ''] = m;
    const addresses = (osInterfaces[name] ?? []).map((a) => a.cidr ?? a.address);
    devices.push({ name, description: description ?? null, addresses, loopback: /\bLoopback\b/.test(flags) });
  }
  return devices;
}
