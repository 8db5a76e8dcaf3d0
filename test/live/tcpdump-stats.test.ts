import { describe, expect, it } from 'vitest';
import { TcpdumpStatsParser, describeStartFailure, tcpdumpArgs, tcpdumpCommand, type LiveCaptureOptions } from '../../src/capture/live-capture.js';
import { parseTcpdumpDeviceList, prefixLength } from '../../src/capture/live-interfaces.js';

describe('tcpdump statistics lines', () => {
  it('reads the one-line report tcpdump writes on SIGUSR1', () => {
    const parser = new TcpdumpStatsParser();
    expect(parser.push('tcpdump: 32 packets captured, 34 packets received by filter, 2 packets dropped by kernel')).toBe(true);
    expect(parser.latest).toEqual({ captured: 32, received: 34, dropped: 2, ifDropped: 0 });
    expect(parser.reports).toBe(1);
  });

  it('reads singular counts and drops by the interface', () => {
    const parser = new TcpdumpStatsParser();
    parser.push('tcpdump: 1 packet captured, 1 packet received by filter, 0 packets dropped by kernel, 1 packet dropped by interface');
    expect(parser.latest).toEqual({ captured: 1, received: 1, dropped: 0, ifDropped: 1 });
  });

  it('reads the report tcpdump writes one figure per line when it exits', () => {
    const parser = new TcpdumpStatsParser();
    for (const line of ['4000 packets captured', '4100 packets received by filter']) {
      expect(parser.push(line)).toBe(true);
      expect(parser.reports).toBe(0);
    }
    parser.push('100 packets dropped by kernel');
    expect(parser.latest).toEqual({ captured: 4000, received: 4100, dropped: 100, ifDropped: 0 });
    parser.push('7 packets dropped by interface');
    expect(parser.latest).toEqual({ captured: 4000, received: 4100, dropped: 100, ifDropped: 7 });
    expect(parser.reports).toBe(1);
  });

  it('keeps the latest of several reports and ignores other messages', () => {
    const parser = new TcpdumpStatsParser();
    expect(parser.push('tcpdump: listening on eth1, link-type EN10MB (Ethernet), snapshot length 262144 bytes')).toBe(false);
    parser.push('tcpdump: 10 packets captured, 10 packets received by filter, 0 packets dropped by kernel');
    expect(parser.push('tcpdump: pcap_loop: The interface disappeared')).toBe(false);
    parser.push('tcpdump: 25 packets captured, 30 packets received by filter, 5 packets dropped by kernel');
    expect(parser.latest).toEqual({ captured: 25, received: 30, dropped: 5, ifDropped: 0 });
    expect(parser.reports).toBe(2);
  });
});

describe('tcpdump start failures', () => {
  const options: LiveCaptureOptions = { interfaceName: 'eth9', filter: null, snapLen: 262144, bufferMb: 64, promiscuous: true };

  // The messages are tcpdump 4.99's, as it writes them.
  it('names a missing interface', () => {
    const err = describeStartFailure(options, ['tcpdump: eth9: No such device exists', '(No such device exists)'], 1);
    expect(err.kind).toBe('no-such-interface');
    expect(err.message).toBe("interface 'eth9' does not exist");
  });

  it('explains the capabilities a capture needs instead of EPERM', () => {
    const err = describeStartFailure(options, ["tcpdump: eth9: You don't have permission to perform this capture on that device", '(socket: Operation not permitted)'], 1);
    expect(err.kind).toBe('permission');
    expect(err.message).toContain('CAP_NET_RAW');
    expect(err.message).toContain('sudo setcap cap_net_raw,cap_net_admin=eip $(command -v tcpdump)');
    expect(err.message).not.toMatch(/\n/);
  });

  it('reports a filter tcpdump cannot compile with its own words', () => {
    const withFilter = { ...options, filter: 'port 99999' };
    const err = describeStartFailure(withFilter, ['tcpdump: illegal port number 99999 > 65535'], 1);
    expect(err.kind).toBe('bad-filter');
    expect(err.message).toBe("bad capture filter 'port 99999': illegal port number 99999 > 65535");
  });

  it('tells a device problem from a filter problem when a filter is set', () => {
    const err = describeStartFailure({ ...options, filter: 'tcp' }, ['tcpdump: eth9: That device is not up'], 1);
    expect(err.kind).toBe('interface-down');
  });

  it('ignores warnings before the error', () => {
    const err = describeStartFailure({ ...options, filter: 'tcp port' }, ['tcpdump: WARNING: eth9: no IPv4 address assigned', "tcpdump: can't parse filter expression: syntax error"], 1);
    expect(err.message).toBe("bad capture filter 'tcp port': can't parse filter expression: syntax error");
  });

  it('says tcpdump is missing when its libraries are', () => {
    const err = describeStartFailure(options, ['tcpdump: error while loading shared libraries: libpcap.so.0.8: cannot open shared object file: No such file or directory'], 127);
    expect(err.kind).toBe('not-installed');
    expect(err.message).toContain('apt-get install tcpdump libpcap0.8');
  });
});

describe('capture device listing without the cap binding', () => {
  it('reads tcpdump -D', () => {
    const text = ['1.eth0 [Up, Running, Connected]', '2.any (Pseudo-device that captures on all interfaces) [Up, Running]', '3.lo [Up, Running, Loopback]', '4.ifb0 [none]', ''].join('\n');
    const devices = parseTcpdumpDeviceList(text, {
      eth0: [{ address: '192.0.2.2', netmask: '255.255.255.0', family: 'IPv4', mac: '02:fc:00:00:00:01', internal: false, cidr: '192.0.2.2/24' }],
    });
    expect(devices).toEqual([
      { name: 'eth0', description: null, addresses: ['192.0.2.2/24'], loopback: false },
      { name: 'any', description: 'Pseudo-device that captures on all interfaces', addresses: [], loopback: false },
      { name: 'lo', description: null, addresses: [], loopback: true },
      { name: 'ifb0', description: null, addresses: [], loopback: false },
    ]);
  });

  it('turns netmasks into prefix lengths', () => {
    expect(prefixLength('255.255.255.0')).toBe(24);
    expect(prefixLength('255.255.240.0')).toBe(20);
    expect(prefixLength('ffff:ffff:ffff:ffff::')).toBe(64);
    expect(prefixLength('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')).toBe(128);
  });
});

describe('how tcpdump is started', () => {
  const options: LiveCaptureOptions = { interfaceName: 'eth9', filter: 'tcp', snapLen: 262144, bufferMb: 64, promiscuous: true };

  it('runs under setpriv with a parent-death signal, staying root when started as root', () => {
    const command = tcpdumpCommand(options, 'setpriv');
    expect(command.file).toBe('setpriv');
    const stayRoot = process.geteuid?.() === 0 ? ['-Z', 'root'] : [];
    expect(command.args).toEqual(['--pdeathsig', 'KILL', '--', 'tcpdump', ...stayRoot, ...tcpdumpArgs(options)]);
  });

  it('runs tcpdump itself where setpriv is missing', () => {
    expect(tcpdumpCommand(options, null)).toEqual({ file: 'tcpdump', args: tcpdumpArgs(options) });
  });
});
