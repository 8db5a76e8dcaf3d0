/** Small application payloads the sample captures carry: MLLP framing and DNS messages. */
import { concat, ipv4Address, ipv6Address, isIPv6, type Payload } from './bytes.js';

/** HL7 minimal lower layer protocol: <VT> message <FS><CR>. */
export function mllp(message: Payload): Buffer {
  return concat(Buffer.from([0x0b]), message, Buffer.from([0x1c, 0x0d]));
}

function dnsName(name: string): Buffer {
  const labels = name.split('.').filter((l) => l.length > 0);
  return concat(...labels.map((l) => concat(Buffer.from([l.length]), l)), Buffer.from([0]));
}

export interface DnsQueryOptions {
  id: number;
  name: string;
  /** 'A' or 'AAAA'. */
  type?: 'A' | 'AAAA';
}

const QTYPE = { A: 1, AAAA: 28 } as const;

/** A standard query with recursion desired. */
export function dnsQuery(opts: DnsQueryOptions): Buffer {
  const header = Buffer.from([opts.id >> 8, opts.id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
  return concat(header, dnsName(opts.name), Buffer.from([0, QTYPE[opts.type ?? 'A'], 0, 1]));
}

/** The answer to dnsQuery(opts): one A or AAAA record, named by a pointer to the question. */
export function dnsResponse(opts: DnsQueryOptions & { address: string; ttl?: number }): Buffer {
  const query = dnsQuery(opts);
  const header = Buffer.from(query.subarray(0, 12));
  header.writeUInt16BE(0x8180, 2); // response, recursion desired and available, no error
  header.writeUInt16BE(1, 6);
  const rdata = isIPv6(opts.address) ? ipv6Address(opts.address) : ipv4Address(opts.address);
  const answer = Buffer.alloc(12);
  answer.writeUInt16BE(0xc00c, 0);
  answer.writeUInt16BE(rdata.length === 16 ? QTYPE.AAAA : QTYPE.A, 2);
  answer.writeUInt16BE(1, 4);
  answer.writeUInt32BE(opts.ttl ?? 300, 6);
  answer.writeUInt16BE(rdata.length, 10);
  return concat(header, query.subarray(12), answer, rdata);
}
