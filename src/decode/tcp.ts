import type { PacketDecoder } from './decoder.js';
import { TCP_SYN, type PacketView } from './packet-view.js';
import { DECODE_OK, type DecodeResult } from './result.js';

const TCP_MIN_HEADER = 20;
const OPT_EOL = 0;
const OPT_NOP = 1;
const OPT_MSS = 2;
const OPT_WSCALE = 3;
const OPT_SACK_PERMITTED = 4;

/** TCP header, flags and (on SYNs) the options reassembly cares about. */
export function decodeTcp(dec: PacketDecoder, view: PacketView, buf: Uint8Array, off: number, end: number, wireLength: number): DecodeResult {
  if (end - off < TCP_MIN_HEADER) return dec.noTransport(view, 'tcp.pkt_too_small');
  const hlen = (buf[off + 12] >> 4) * 4;
  if (hlen < TCP_MIN_HEADER) return dec.noTransport(view, 'tcp.hlen_too_small');
  if (end - off < hlen) return dec.noTransport(view, 'tcp.pkt_too_small');
  dec.stats.tcp++;
  view.srcPort = (buf[off] << 8) | buf[off + 1];
  view.dstPort = (buf[off + 2] << 8) | buf[off + 3];
  view.tcpSeq = ((buf[off + 4] << 24) | (buf[off + 5] << 16) | (buf[off + 6] << 8) | buf[off + 7]) >>> 0;
  view.tcpAck = ((buf[off + 8] << 24) | (buf[off + 9] << 16) | (buf[off + 10] << 8) | buf[off + 11]) >>> 0;
  view.tcpFlags = buf[off + 13];
  view.tcpWindow = (buf[off + 14] << 8) | buf[off + 15];
  if (hlen > TCP_MIN_HEADER && (view.tcpFlags & TCP_SYN) !== 0) readOptions(dec, view, buf, off + TCP_MIN_HEADER, off + hlen);
  view.payloadOffset = off + hlen;
  view.payloadLength = end - off - hlen;
  view.payloadWireLength = Math.max(wireLength - hlen, view.payloadLength);
  return DECODE_OK;
}

function readOptions(dec: PacketDecoder, view: PacketView, buf: Uint8Array, o: number, end: number): void {
  while (o < end) {
    const kind = buf[o];
    if (kind === OPT_EOL) return;
    if (kind === OPT_NOP) {
      o++;
      continue;
    }
    const len = o + 1 < end ? buf[o + 1] : 0;
    if (len < 2 || o + len > end) {
      dec.stats.countAnomaly('tcp.invalid_optlen');
      return;
    }
    if (kind === OPT_MSS && len === 4) view.tcpMss = (buf[o + 2] << 8) | buf[o + 3];
    else if (kind === OPT_WSCALE && len === 3) view.tcpWscale = buf[o + 2];
    else if (kind === OPT_SACK_PERMITTED && len === 2) view.tcpSackPermitted = true;
    o += len;
  }
}
