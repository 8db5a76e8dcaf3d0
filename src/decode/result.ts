/** What the decoder made of a packet. */
export type DecodeResult = number;
/** An IP packet decoded down to its transport: analyse it. */
export const DECODE_OK = 0;
/** Well-formed, but not IP (ARP, STP, LLDP...): counted, not analysed. */
export const DECODE_NON_IP = 1;
/** Malformed or truncated: counted by reason, skipped. */
export const DECODE_INVALID = 2;
/** A fragment kept until its datagram is complete. */
export const DECODE_HELD = 3;
