import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_HOME_NET } from '../../src/detect/address-set.js';
import {
  DetectHarness,
  SHIPPED_RULES_DIR,
  TO_CLIENT,
  TO_SERVER,
  hl7Message,
  loadRuleSetFrom,
  loadRules,
  makeFlow,
  removeTempDirs,
  type RuleText,
} from '../support/detect-harness.js';

afterEach(removeTempDirs);

const CISA_FACT_SHEET = 'CISA fact sheet: Contec CMS8000 contains a backdoor';
const IN_HOME_NET_NOTE =
  "The indicator address is inside HOME_NET. The vendor's manuals tell hospitals to give 202.114.4.119 to their own central station, so internal use of it can be legitimate: check that the host at this address is the hospital's central station.";

/** The 1000001 alerts of one packet from `client` to `server`, with the shipped pack. */
async function indicatorAlerts(client: string, server: string, options: { homeNet?: readonly string[]; indicatorFiles?: Record<string, string> } = {}) {
  const h = new DetectHarness(await loadRuleSetFrom(SHIPPED_RULES_DIR, options));
  h.packet(makeFlow({ client, server, serverPort: 443 }));
  return h.alerts.filter((a) => a.rule.id === 1000001);
}

describe('indicator addresses in the shipped pack (rule 1000001)', () => {
  it('an exact indicator address is severity 1', async () => {
    const [alert, ...rest] = await indicatorAlerts('10.1.1.5', '202.114.4.119');
    expect(rest).toEqual([]);
    expect(alert.severity).toBe(1);
    expect(alert.indicator).toEqual({
      side: 'server',
      address: '202.114.4.119',
      indicator: '202.114.4.119',
      description:
        "Contec CMS8000 central station / NFS update server, the manuals' default: the monitor mounts 202.114.4.119:/pm and sends patient data to it on TCP 515 (LPD port)",
      source: CISA_FACT_SHEET,
      exact: true,
      inHomeNet: false,
    });
    expect(alert.note).toBeNull();
  });

  it('the second listed host is exact too', async () => {
    const [alert] = await indicatorAlerts('10.1.1.5', '202.114.4.120');
    expect(alert).toMatchObject({ severity: 1, indicator: { indicator: '202.114.4.120', exact: true, source: 'Contec CMS8000 manual' } });
  });

  it('an address covered only by the listed /24 is severity 2', async () => {
    const [alert] = await indicatorAlerts('10.1.1.5', '202.114.4.77');
    expect(alert.severity).toBe(2);
    expect(alert.indicator).toMatchObject({ side: 'server', address: '202.114.4.77', indicator: '202.114.4.0/24', exact: false, source: 'CISA ICSMA-25-030-01' });
  });

  it.each(['202.114.3.255', '202.114.5.0', '202.115.4.119', '202.114.40.119'])('stays quiet for %s, outside the /24', async (server) => {
    expect(await indicatorAlerts('10.1.1.5', server)).toEqual([]);
  });

  it('reports an indicator address that opened the conversation as the client side', async () => {
    const [alert] = await indicatorAlerts('202.114.4.119', '10.1.1.5');
    expect(alert.indicator).toMatchObject({ side: 'client', address: '202.114.4.119', exact: true });
  });

  it('adds the home-net note when the indicator address is inside HOME_NET', async () => {
    const homeNet = [...DEFAULT_HOME_NET, '202.114.4.0/24'];
    const [alert] = await indicatorAlerts('10.1.1.5', '202.114.4.119', { homeNet });
    expect(alert.indicator).toMatchObject({ address: '202.114.4.119', inHomeNet: true });
    expect(alert.note).toBe(IN_HOME_NET_NOTE);
    expect(alert.severity).toBe(1);
  });

  it('adds no note when HOME_NET holds the client but not the indicator address', async () => {
    const [alert] = await indicatorAlerts('10.1.1.5', '202.114.4.119', { homeNet: ['10.0.0.0/8', '202.114.5.0/24'] });
    expect(alert.indicator?.inHomeNet).toBe(false);
    expect(alert.note).toBeNull();
  });

  it('matches an IPv6 entry of an extra indicator list, exact and by prefix', async () => {
    const indicatorFiles = { 'ward-extra.txt': '2001:db8:bad::119  central station copy\n2001:db8:bad::/48   backdoor network\n' };
    const [exact] = await indicatorAlerts('fd00::5', '2001:db8:bad::119', { indicatorFiles });
    expect(exact).toMatchObject({ severity: 1, indicator: { address: '2001:db8:bad::119', indicator: '2001:db8:bad::119', exact: true, source: 'ward-extra.txt' } });
    const [covered] = await indicatorAlerts('fd00::5', '2001:db8:bad:7::1', { indicatorFiles });
    expect(covered).toMatchObject({ severity: 2, indicator: { address: '2001:db8:bad:7::1', indicator: '2001:db8:bad::/48', exact: false } });
    expect(await indicatorAlerts('fd00::5', '2001:db8:bae::1', { indicatorFiles })).toEqual([]);
  });

  it('does not match an IPv4 entry through an IPv4-mapped IPv6 address', async () => {
    expect(await indicatorAlerts('fd00::5', '::ffff:202.114.4.119')).toEqual([]);
  });
});

describe('indicator sides', () => {
  const rules: RuleText[] = [
    { id: 21, severity: 1, severity_cidr_only: 2, match: { indicator: 'client' } },
    { id: 22, severity: 1, match: { indicator: 'server' } },
    { id: 23, severity: 1, severity_cidr_only: 3, match: { indicator: 'either' } },
  ];
  const indicatorFiles = { 'test.txt': '198.51.100.0/24 block\n203.0.113.9 host\n' };

  async function fired(client: string, server: string) {
    const h = new DetectHarness(await loadRules(rules, { indicatorFiles }));
    h.packet(makeFlow({ client, server }), TO_SERVER);
    return h.alerts.map((a) => ({ id: a.rule.id, severity: a.severity, side: a.indicator?.side, indicator: a.indicator?.indicator }));
  }

  it('server', async () => {
    expect(await fired('10.1.1.5', '203.0.113.9')).toEqual([
      { id: 22, severity: 1, side: 'server', indicator: '203.0.113.9' },
      { id: 23, severity: 1, side: 'server', indicator: '203.0.113.9' },
    ]);
  });

  it('client', async () => {
    expect(await fired('198.51.100.20', '10.1.1.5')).toEqual([
      { id: 21, severity: 2, side: 'client', indicator: '198.51.100.0/24' },
      { id: 23, severity: 3, side: 'client', indicator: '198.51.100.0/24' },
    ]);
  });

  it('both ends listed: each rule names its own side, either prefers the server', async () => {
    expect(await fired('198.51.100.20', '203.0.113.9')).toEqual([
      { id: 21, severity: 2, side: 'client', indicator: '198.51.100.0/24' },
      { id: 22, severity: 1, side: 'server', indicator: '203.0.113.9' },
      { id: 23, severity: 1, side: 'server', indicator: '203.0.113.9' },
    ]);
  });

  it('neither', async () => {
    expect(await fired('10.1.1.5', '203.0.113.10')).toEqual([]);
  });

  it('a rule without an indicator condition carries no indicator, even to a listed address', async () => {
    const h = new DetectHarness(await loadRules([{ id: 24, match: { event: { type: 'hl7.message' } } }], { indicatorFiles }));
    h.event(makeFlow({ client: '10.1.1.5', server: '203.0.113.9' }), hl7Message(TO_CLIENT));
    expect(h.alerts).toHaveLength(1);
    expect(h.alerts[0].indicator).toBeNull();
  });
});
