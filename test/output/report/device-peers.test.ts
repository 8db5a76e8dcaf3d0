import { describe, expect, it } from 'vitest';
import { renderReport } from '../../../src/output/report/html.js';
import { ReportBuilder } from '../../../src/output/report/model.js';

/** An inventory record as replay writes it, one suspect host per entry. */
function inventory(hosts: Array<{ address: string; peers: string[]; morePeers: boolean }>) {
  return {
    timestamp: '2025-01-30T10:00:05.000000+0000',
    event_type: 'inventory',
    inventory: {
      hosts: hosts.map((h) => ({
        address: h.address,
        first_seen: '2025-01-30T10:00:00.000000+0000',
        last_seen: '2025-01-30T10:00:05.000000+0000',
        speaks: [],
        names: [],
        indicators: [],
        alerts: [],
        flows: h.peers.length,
        unanswered_syns: 0,
        reached_by_external: 0,
        peers: h.peers,
        more_peers: h.morePeers,
        ports: [443],
        more_ports: false,
      })),
      hosts_not_listed: 0,
      max_hosts: 10000,
    },
  };
}

function externalHostsLine(html: string, address: string): string {
  const section = html.slice(html.indexOf(`>${address}</h3>`));
  const m = /<dt>External hosts it talked with<\/dt><dd class="mono">([^<]*)<\/dd>/.exec(section);
  expect(m, `no external hosts line for ${address}`).not.toBeNull();
  return m![1];
}

describe('a device in the report', () => {
  const external = (n: number) => Array.from({ length: n }, (_, i) => `198.51.100.${i + 1}`);

  it('says when it talked with more external hosts than are listed', () => {
    const builder = new ReportBuilder('redacted');
    builder.add(
      inventory([
        { address: '10.1.2.3', peers: [...external(40), '10.1.5.20'], morePeers: false },
        { address: '10.1.2.4', peers: external(2), morePeers: true },
        { address: '10.1.2.5', peers: [...external(2), '10.1.5.20'], morePeers: false },
      ]),
    );
    const html = renderReport(builder.build());

    const many = externalHostsLine(html, '10.1.2.3');
    expect(many.split('; ')[0].split(', ')).toEqual(external(32));
    expect(many).toMatch(/; perhaps more: not all its peers are listed$/);
    // The inventory itself kept only the first peers: the rest may be external.
    expect(externalHostsLine(html, '10.1.2.4')).toBe('198.51.100.1, 198.51.100.2; perhaps more: not all its peers are listed');
    // Every peer listed: nothing to add, and internal peers are not external hosts.
    expect(externalHostsLine(html, '10.1.2.5')).toBe('198.51.100.1, 198.51.100.2');
  });

  it('names the protocols it looked for when a device spoke none of them, rather than "nothing"', () => {
    // A host whose only traffic was RPC (an NFS mount, say): recognised, but not a device protocol.
    const builder = new ReportBuilder('redacted');
    builder.add(inventory([{ address: '10.20.30.80', peers: ['202.114.4.119'], morePeers: false }]));
    const html = renderReport(builder.build());
    const section = html.slice(html.indexOf('>10.20.30.80</h3>'));
    expect(/<dt>Speaks<\/dt><dd>([^<]*)<\/dd>/.exec(section)?.[1]).toBe('none of HL7, CMS8000, DICOM');
  });
});
