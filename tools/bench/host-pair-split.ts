/**
 * Splits a capture in two by host pair, as evenly as whole host pairs allow: every packet whose
 * outermost addresses are the same two hosts (either way round) goes to the same half, and the
 * pairs are dealt largest first to the half with fewer packets so far. Replaying the two halves
 * side by side, each in its own process, is the best any two-thread split of the analysis could
 * do: nothing read twice, nothing shared, shares as even as the traffic permits.
 *
 * The halves are nanosecond pcaps of the input's link type, records and times unchanged.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { openCapture } from '../../src/capture/open-capture.js';
import { CapturedPacket } from '../../src/capture/packet.js';
import { PacketDecoder } from '../../src/decode/decoder.js';
import { PacketView } from '../../src/decode/packet-view.js';

export interface HostPairSplit {
  /** Distinct host pairs (packets with no readable IP header count as one more). */
  pairs: number;
  packets: [number, number];
}

const BUFFER_SIZE = 4 << 20;

/**
 * The two hosts of a packet's IP header, lower address first, as the decoder reads them (before
 * any reassembly); a tunnelled packet by its outer pair's hash, which is what keeps it in one
 * thread; '' when the packet has no readable IP header.
 */
class HostPairKeys {
  private readonly decoder = new PacketDecoder();
  private readonly view = new PacketView();

  of(pkt: CapturedPacket): string {
    const view = this.view;
    this.decoder.decode(pkt, view);
    if (view.ipVersion === 0) return '';
    if (view.tunnelDepth > 0) return `tunnel ${view.outerPairHash}`;
    const a = view.addr.subarray(0, 4).join('.');
    const b = view.addr.subarray(4, 8).join('.');
    return a < b ? `${a} ${b}` : `${b} ${a}`;
  }
}

async function eachPacket(file: string, visit: (pkt: CapturedPacket) => void): Promise<void> {
  const { source } = await openCapture(file);
  const pkt = new CapturedPacket();
  try {
    for (;;) {
      while (source.next(pkt)) visit(pkt);
      if (!(await source.refill())) break;
    }
  } finally {
    await source.close();
  }
}

/** One output half: records gathered in a buffer and written in large pieces. */
class PcapHalf {
  private readonly fd: number;
  private readonly buf = Buffer.allocUnsafe(BUFFER_SIZE);
  private pos = 0;
  packets = 0;

  constructor(file: string, linkType: number) {
    this.fd = openSync(file, 'w');
    const h = Buffer.alloc(24);
    h.writeUInt32LE(0xa1b23c4d, 0); // nanosecond timestamps
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeUInt32LE(262144, 16);
    h.writeUInt32LE(linkType, 20);
    writeSync(this.fd, h);
  }

  add(pkt: CapturedPacket): void {
    if (this.pos + 16 + pkt.caplen > BUFFER_SIZE) this.flush();
    const b = this.buf;
    b.writeUInt32LE(pkt.tsSec >>> 0, this.pos);
    b.writeUInt32LE(pkt.tsNsec, this.pos + 4);
    b.writeUInt32LE(pkt.caplen, this.pos + 8);
    b.writeUInt32LE(pkt.origlen, this.pos + 12);
    b.set(pkt.data.subarray(pkt.offset, pkt.offset + pkt.caplen), this.pos + 16);
    this.pos += 16 + pkt.caplen;
    this.packets++;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }

  private flush(): void {
    writeSync(this.fd, this.buf, 0, this.pos);
    this.pos = 0;
  }
}

/** Writes `input`'s packets to `outputs[0]` and `outputs[1]`, each host pair whole in one. */
export async function splitByHostPair(input: string, outputs: [string, string]): Promise<HostPairSplit> {
  const counts = new Map<string, number>();
  let keys = new HostPairKeys();
  let linkType = -1;
  await eachPacket(input, (pkt) => {
    if (linkType < 0) linkType = pkt.linkType;
    else if (pkt.linkType !== linkType) throw new Error(`${input}: more than one link type; the halves are classic pcaps of one`);
    const key = keys.of(pkt);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  });
  const half = new Map<string, 0 | 1>();
  const load: [number, number] = [0, 0];
  for (const [key, n] of [...counts].sort((x, y) => y[1] - x[1])) {
    const to = load[0] <= load[1] ? 0 : 1;
    half.set(key, to);
    load[to] += n;
  }
  const halves = [new PcapHalf(outputs[0], Math.max(linkType, 1)), new PcapHalf(outputs[1], Math.max(linkType, 1))];
  // A fresh decoder: its fragment tables must see the capture again from the start.
  keys = new HostPairKeys();
  try {
    await eachPacket(input, (pkt) => halves[half.get(keys.of(pkt))!].add(pkt));
  } finally {
    for (const h of halves) h.close();
  }
  return { pairs: counts.size, packets: [halves[0].packets, halves[1].packets] };
}
