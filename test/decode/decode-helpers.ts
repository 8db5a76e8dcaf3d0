/**
 * Helpers for decoder tests: wrap crafted bytes in a CapturedPacket, decode them, and read the
 * view back in terms the craft library speaks (address text, payload bytes, counted reasons).
 */
import { expect } from 'vitest';
import { CapturedPacket } from '../../src/capture/packet.js';
import { PacketDecoder } from '../../src/decode/decoder.js';
import type { DefragOptions } from '../../src/decode/defrag.js';
import { PacketView } from '../../src/decode/packet-view.js';
import { DECODE_HELD, DECODE_INVALID, DECODE_NON_IP, DECODE_OK, type DecodeResult } from '../../src/decode/result.js';
import { ipv4Address, ipv6Address } from '../../tools/craft/layers.js';

export const RESULT_NAMES: Record<number, string> = {
  [DECODE_OK]: 'OK',
  [DECODE_NON_IP]: 'NON_IP',
  [DECODE_INVALID]: 'INVALID',
  [DECODE_HELD]: 'HELD',
};

export interface FrameOptions {
  /** Length on the wire; more than the bytes given means the snap length cut the frame. */
  origlen?: number;
  tsSec?: number;
  /** Place the frame at this offset of a larger buffer, to catch decoders that assume offset 0. */
  at?: number;
}

export function captured(bytes: Uint8Array, linkType: number, opts: FrameOptions = {}): CapturedPacket {
  const pkt = new CapturedPacket();
  const at = opts.at ?? 0;
  const data = new Uint8Array(at + bytes.length + 7); // bytes after the frame must never be read
  data.fill(0xa5);
  data.set(bytes, at);
  pkt.data = data;
  pkt.offset = at;
  pkt.caplen = bytes.length;
  pkt.origlen = opts.origlen ?? bytes.length;
  pkt.tsSec = opts.tsSec ?? 1738231200;
  pkt.linkType = linkType;
  return pkt;
}

export interface Decoded {
  result: DecodeResult;
  view: PacketView;
  dec: PacketDecoder;
}

/** Decodes one frame with a fresh decoder. */
export function decodeFrame(bytes: Uint8Array, linkType: number, opts: FrameOptions = {}, defrag?: DefragOptions): Decoded {
  const dec = new PacketDecoder(defrag);
  const view = new PacketView();
  const result = dec.decode(captured(bytes, linkType, { at: 3, ...opts }), view);
  return { result, view, dec };
}

/** A decoder and view kept across frames (fragments, state). */
export class DecodeSession {
  readonly dec: PacketDecoder;
  readonly view = new PacketView();

  constructor(defrag?: DefragOptions) {
    this.dec = new PacketDecoder(defrag);
  }

  decode(bytes: Uint8Array, linkType: number, opts: FrameOptions = {}): DecodeResult {
    return this.dec.decode(captured(bytes, linkType, opts), this.view);
  }
}

export function resultName(r: DecodeResult): string {
  return RESULT_NAMES[r] ?? `unknown(${r})`;
}

/** Address text as the 32-bit words PacketView.addr holds (IPv4: one word then three zeros). */
export function addrWords(text: string): number[] {
  const b = text.includes(':') ? ipv6Address(text) : ipv4Address(text);
  const words = [0, 0, 0, 0];
  for (let i = 0; i < b.length / 4; i++) words[i] = b.readUInt32BE(i * 4);
  return words;
}

export function expectAddresses(view: PacketView, src: string, dst: string): void {
  expect(Array.from(view.addr.subarray(0, 4)), 'source address words').toEqual(addrWords(src));
  expect(Array.from(view.addr.subarray(4, 8)), 'destination address words').toEqual(addrWords(dst));
  expect(view.ipVersion).toBe(src.includes(':') ? 6 : 4);
}

/** The transport payload the view points at. */
export function payloadOf(view: PacketView): Buffer {
  return Buffer.from(view.ipBuf.subarray(view.payloadOffset, view.payloadOffset + view.payloadLength));
}

/** Invalid counters as a plain object, for whole-map assertions. */
export function invalidReasons(dec: PacketDecoder): Record<string, number> {
  return Object.fromEntries(dec.stats.invalidByReason);
}

export function anomalies(dec: PacketDecoder): Record<string, number> {
  return Object.fromEntries(dec.stats.anomalies);
}

/** Invariants every decode must keep, whatever the bytes. */
export function expectViewInBounds(result: DecodeResult, view: PacketView): void {
  expect([DECODE_OK, DECODE_NON_IP, DECODE_INVALID, DECODE_HELD]).toContain(result);
  if (result !== DECODE_OK) return;
  const len = view.ipBuf.length;
  expect(view.ipOffset).toBeGreaterThanOrEqual(0);
  expect(view.ipOffset + view.ipCapturedLength).toBeLessThanOrEqual(len);
  expect(view.payloadOffset, 'payload offset').toBeGreaterThanOrEqual(0);
  expect(view.payloadLength, 'payload length').toBeGreaterThanOrEqual(0);
  expect(view.payloadOffset + view.payloadLength, 'payload end').toBeLessThanOrEqual(len);
  expect(view.payloadOffset, 'payload after the IP header').toBeGreaterThanOrEqual(view.ipOffset);
  expect(view.payloadOffset + view.payloadLength, 'payload inside the IP packet').toBeLessThanOrEqual(view.ipOffset + view.ipCapturedLength);
  expect(view.payloadWireLength).toBeGreaterThanOrEqual(view.payloadLength);
}

/**
 * Every cut of a valid frame short of its full length (not by the snap length: the frame claims
 * to be that short) must be refused, with exactly one counted reason, and never throw.
 */
export function expectEveryTruncationRejected(bytes: Uint8Array, linkType: number): void {
  for (let len = 0; len < bytes.length; len++) {
    const { result, dec } = decodeFrame(bytes.subarray(0, len), linkType);
    const where = `cut to ${len} of ${bytes.length} bytes: ${resultName(result)} ${JSON.stringify(invalidReasons(dec))}`;
    expect(result === DECODE_INVALID || result === DECODE_NON_IP, where).toBe(true);
    if (result === DECODE_INVALID) {
      expect(dec.stats.invalid, where).toBe(1);
      expect([...dec.stats.invalidByReason.values()], where).toEqual([1]);
    } else {
      expect(dec.stats.invalid, where).toBe(0);
      expect(dec.stats.nonIp, where).toBe(1);
    }
  }
}
