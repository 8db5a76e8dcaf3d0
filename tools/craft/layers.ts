/**
 * Packet builders. Each returns the bytes of its layer and everything inside, tagged so the layer
 * around it can name it:
 *
 *   ethernet({ src, dst }, ipv4({ src: '10.1.2.3', dst: '202.114.4.119' }, tcp({ sport, dport, flags: 'PA' }, payload)))
 *
 * Checksums (IPv4 header, TCP/UDP/ICMPv6 over the pseudo-header, ICMP, GRE) are correct unless
 * a builder is told to write a given value.
 */
export * from './bytes.js';
export * from './link.js';
export * from './ip.js';
export * from './transport.js';
export * from './tunnel.js';
export * from './fragment.js';
