/**
 * The incident report as one self-contained HTML page: no scripts, no fonts, images or styles from
 * elsewhere (a Content-Security-Policy in the page forbids every fetch), charts as inline SVG,
 * real headings and tables, and print styles. Made from a ReportModel only.
 */
import { createHash } from 'node:crypto';
import { speakerProtocols } from '../../analyzers/registry.js';
import type { DeviceSection, ReportModel, RuleGroup } from './model.js';
import { OuiTable } from './oui.js';
import { bytes, count, esc, eveTime, plural } from './text.js';
import { timelineSvg } from './timeline-svg.js';

/** The first line of a report that holds patient data. */
export const PHI_FIRST_LINE = '<!-- CONTAINS PATIENT DATA (PHI): made with --evidence full. Store and share it as protected health information. -->';

const CSS = `
:root { color-scheme: light; }
body { font: 15px/1.45 system-ui, sans-serif; color: #1b1b1b; background: #fff; margin: 0 auto; max-width: 1000px; padding: 0 24px 48px; }
h1 { font-size: 26px; margin: 24px 0 4px; }
h2 { font-size: 20px; border-bottom: 2px solid #2f5d9e; padding-bottom: 2px; margin-top: 36px; }
h3 { font-size: 17px; margin: 24px 0 6px; }
.sub { color: #444; margin: 0 0 16px; }
.phi { background: #b00020; color: #fff; padding: 8px 12px; font-weight: bold; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; font-size: 13px; }
caption { text-align: left; font-weight: bold; padding: 4px 0; }
th, td { border: 1px solid #c9ced6; padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: #eef1f5; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code, .mono { font-family: ui-monospace, monospace; font-size: 12px; overflow-wrap: anywhere; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 8px 0; }
dt { font-weight: bold; }
dd { margin: 0; }
.sev1 { color: #b00020; font-weight: bold; }
.sev2 { color: #8a5a00; font-weight: bold; }
.sev3 { color: #2f5d9e; font-weight: bold; }
figure { margin: 8px 0; }
figcaption { font-size: 13px; color: #444; }
svg.timeline { max-width: 100%; height: auto; border: 1px solid #c9ced6; }
.worksheet td.blank { height: 64px; min-width: 200px; }
nav ol { columns: 2; }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  nav { display: none; }
  h2 { break-before: page; }
  h2.first { break-before: auto; }
  section.device, table, figure { break-inside: avoid; }
  a[href^="http"]::after { content: " (" attr(href) ")"; font-size: 9pt; }
  .phi { border: 3px solid #000; color: #000; background: #fff; }
}
`;

const ADVISORIES = [
  { id: 'ICSMA-25-030-01', title: 'CISA ICS Medical Advisory ICSMA-25-030-01: Contec Health CMS8000 Patient Monitor', url: 'https://www.cisa.gov/news-events/ics-medical-advisories/icsma-25-030-01' },
  { id: 'CISA fact sheet', title: 'CISA: Contec CMS8000 Contains a Backdoor', url: 'https://www.cisa.gov/resources-tools/resources/contec-cms8000-contains-backdoor' },
  {
    id: 'FDA safety communication',
    title: 'FDA: Cybersecurity Vulnerabilities with Certain Patient Monitors from Contec and Epsimed (January 30, 2025)',
    url: 'https://www.fda.gov/medical-devices/safety-communications/cybersecurity-vulnerabilities-certain-patient-monitors-contec-and-epsimed-fda-safety-communication',
  },
];

export interface RenderOptions {
  /** MAC vendors; by default the system's table, when it has one. */
  oui?: OuiTable;
}

export function renderReport(model: ReportModel, options: RenderOptions = {}): string {
  const oui = options.oui ?? OuiTable.load();
  const styleHash = createHash('sha256').update(CSS).digest('base64');
  const csp = `default-src 'none'; style-src 'sha256-${styleHash}'; img-src 'none'; script-src 'none'; base-uri 'none'; form-action 'none'`;
  const title = `wardwatch incident report: ${model.captures.length > 0 ? model.captures.map((c) => c.name).join(', ') : model.interfaces.join(', ') || 'EVE records'}`;
  const full = model.evidence === 'full';
  const sections = [
    analysedSection(model),
    summarySection(model),
    devicesSection(model, oui),
    alertsSection(model),
    leftSection(model),
    worksheetSection(model),
    containmentSection(model),
  ];
  return [
    ...(full ? [PHI_FIRST_LINE] : []),
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${csp}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    `<title>${esc(title)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    full ? '<p class="phi" role="alert">This report contains patient data (protected health information): it was made with full evidence.</p>' : '',
    '<header>',
    '<h1>Incident report</h1>',
    `<p class="sub">${esc(title.replace(/^wardwatch incident report: /, ''))} · made by wardwatch ${esc(model.versions.join(', ') || 'unknown version')}${full ? '' : ' · contains no patient data (evidence redacted)'}</p>`,
    '</header>',
    '<nav aria-label="Contents"><ol>',
    '<li><a href="#analysed">What was analysed</a></li><li><a href="#summary">Summary</a></li><li><a href="#devices">Suspected devices</a></li><li><a href="#alerts">Alerts</a></li><li><a href="#left">What left</a></li><li><a href="#worksheet">Breach assessment worksheet</a></li><li><a href="#containment">Containment</a></li>',
    '</ol></nav>',
    '<main>',
    ...sections,
    '</main>',
    `<footer><p class="sub">wardwatch ${esc(model.versions.join(', ') || '')}; rule pack ${esc(model.ruleRevisions.join(', ') || 'unknown')}. Times are UTC.</p></footer>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function analysedSection(model: ReportModel): string {
  const out = ['<section id="analysed" aria-labelledby="h-analysed">', '<h2 id="h-analysed" class="first">What was analysed</h2>'];
  if (model.captures.length > 0) {
    out.push('<table><caption>Captures</caption><thead><tr><th scope="col">Capture</th><th scope="col">Size</th><th scope="col">SHA-256</th><th scope="col">First packet</th><th scope="col">Last packet</th><th scope="col">Packets</th><th scope="col">Read</th></tr></thead><tbody>');
    for (const c of model.captures) {
      out.push(
        `<tr><td class="mono">${esc(c.name)}<br>${esc(c.format)}${c.compressed ? ' (gzip)' : ''}</td><td class="num">${c.size === null ? 'unknown' : bytes(c.size)}</td><td class="mono sha256">${c.sha256 === null ? 'not recorded' : esc(c.sha256)}</td><td>${esc(eveTime(c.first, true))}</td><td>${esc(eveTime(c.last, true))}</td><td class="num">${count(c.packets)}</td><td>${c.damaged === null ? 'complete' : esc(c.damaged)}</td></tr>`,
      );
    }
    out.push('</tbody></table>');
  } else if (model.interfaces.length > 0) {
    out.push(`<p>Live capture on ${esc(model.interfaces.join(', '))}.</p>`);
  } else {
    out.push('<p>The EVE records hold no run record: which captures were analysed is not known.</p>');
  }
  out.push('<dl>');
  out.push(`<dt>wardwatch</dt><dd>${esc(model.versions.join(', ') || 'unknown')}</dd>`);
  out.push(`<dt>Rule pack revision</dt><dd class="mono">${esc(model.ruleRevisions.join(', ') || 'unknown')}</dd>`);
  if (model.rules.length > 0) out.push(`<dt>Rules</dt><dd>${model.rules.map((r) => `${r.id} rev ${r.rev}`).join(', ')}</dd>`);
  out.push(`<dt>HOME_NET</dt><dd class="mono">${esc(model.homeNet.join(', '))}</dd>`);
  out.push(`<dt>Evidence</dt><dd>${model.evidence === 'full' ? 'full: patient data included' : model.evidence === 'none' ? 'none: no payload evidence' : 'redacted: message types, segment ids, block types, counts and lengths; never patient data'}</dd>`);
  out.push('</dl>');
  out.push('<h3 id="limits">What limits this analysis</h3>');
  if (!model.haveStats) out.push('<p>No stats record was read: decode errors, gaps and drops are not known.</p>');
  if (model.limits.length > 0) {
    out.push('<table><caption>Limits</caption><thead><tr><th scope="col">What</th><th scope="col">Count</th></tr></thead><tbody>');
    for (const l of model.limits) out.push(`<tr><td>${esc(l.label)}</td><td class="num">${count(l.value)}</td></tr>`);
    out.push('</tbody></table>');
  } else if (model.haveStats) {
    out.push('<p>None recorded: no decode errors, stream gaps, packets cut by the snap length or capture drops.</p>');
  }
  if (!model.haveFlows) out.push('<p>The records hold no flow records, so the timelines show alerts only (write EVE with <code>--flows</code> to keep them).</p>');
  out.push('</section>');
  return out.join('\n');
}

function hostsText(hosts: string[]): string {
  return hosts.length === 1 ? `1 device (${hosts[0]})` : `${hosts.length} devices (${hosts.join(', ')})`;
}

function between(first: string, last: string): string {
  return first === last || eveTime(first) === eveTime(last) ? `at ${eveTime(first)}` : `between ${eveTime(first)} and ${eveTime(last)}`;
}

/** The findings in plain sentences. */
export function summarySentences(model: ReportModel): string[] {
  const out: string[] = [];
  for (const e of model.exfiltration) {
    const where = e.port === null ? e.dest : `${e.dest} on ${e.proto} ${e.port}`;
    out.push(`${hostsText(e.hosts)} sent patient data (${e.kinds.join(', ')}) to ${where} ${between(e.first, e.last)}${e.answered ? '; the far end answered' : ''}.`);
  }
  const mounts = new Map<string, string[]>();
  for (const m of model.mounts) mounts.set(`${m.server}:${m.path}`, [...(mounts.get(`${m.server}:${m.path}`) ?? []), m.host]);
  for (const [target, hosts] of mounts) out.push(`${hostsText(hosts)} mounted ${target} over NFS.`);
  for (const i of model.indicatorContacts) {
    out.push(`${hostsText(i.hosts)} exchanged traffic with the indicator address ${i.indicator}${i.note !== '' ? ` (${i.note}: check that it is the hospital's own central station)` : ''}.`);
  }
  for (const d of model.devices) {
    if (d.unansweredSyns > 0 && d.indicators.length > 0) out.push(`${d.address} opened ${plural(d.unansweredSyns, 'connection')} that were never answered (blocked or unreachable).`);
  }
  const covered = new Set([1000001, 1000002, 1000003, 1000004, 1000008]);
  for (const g of model.groups) {
    if (covered.has(g.id) && out.length > 0) continue;
    out.push(`${g.name} (sid ${g.id}): ${plural(g.count, 'alert')} about ${g.hosts.join(', ')} ${between(g.first, g.last)}.`);
  }
  if (model.alerts === 0) out.push('No alerts were raised.');
  out.push(`${plural(model.devices.length, 'suspected device')}${model.hostsNotListed > 0 ? ' listed, and more beyond the inventory\'s cap' : ''}.`);
  return out;
}

function summarySection(model: ReportModel): string {
  return ['<section id="summary" aria-labelledby="h-summary">', '<h2 id="h-summary">Summary</h2>', '<ul class="summary">', ...summarySentences(model).map((s) => `<li>${esc(s)}</li>`), '</ul>', '</section>'].join('\n');
}

function devicesSection(model: ReportModel, oui: OuiTable): string {
  const out = ['<section id="devices" aria-labelledby="h-devices">', `<h2 id="h-devices">Suspected devices (${model.devices.length})</h2>`];
  if (model.devices.length === 0) out.push('<p>None.</p>');
  model.devices.forEach((d, i) => out.push(deviceSection(d, i, oui)));
  if (model.hostsNotListed > 0) out.push(`<p>The inventory stops at its host cap: ${count(model.hostsNotListed)} sightings of further suspects are not listed.</p>`);
  out.push('</section>');
  return out.join('\n');
}

function list(items: string[], none = 'none'): string {
  return items.length === 0 ? none : items.map(esc).join(', ');
}

function deviceSection(d: DeviceSection, index: number, oui: OuiTable): string {
  const id = `device-${index + 1}`;
  const vendor = d.mac === null ? null : oui.vendor(d.mac);
  const speaks = d.speaks.map((label) => {
    const names = d.names.filter((n) => n.protocol === label).map((n) => n.name);
    const what = label === 'HL7' ? 'sending application|facility (MSH-3|MSH-4)' : label === 'DICOM' ? 'AE title' : 'name';
    return names.length > 0 ? `${label}, ${what} ${names.join(', ')}` : label;
  });
  const out = [
    `<section class="device" id="${id}" aria-labelledby="${id}-h">`,
    `<h3 id="${id}-h">${esc(d.address)}</h3>`,
    '<dl>',
    `<dt>Address</dt><dd class="mono device-address">${esc(d.address)}</dd>`,
    `<dt>MAC address</dt><dd class="mono">${d.mac === null ? 'not seen (no Ethernet frames)' : esc(d.mac)}</dd>`,
    `<dt>Vendor</dt><dd>${vendor !== null ? esc(vendor) : d.mac === null ? 'unknown' : 'unknown (not in the OUI table, or a locally administered address)'}</dd>`,
    // Only the protocols that say what a device is are listed; its RPC or other traffic is in its alerts and flows.
    `<dt>Speaks</dt><dd>${list(speaks, `none of ${speakerProtocols().join(', ')}`)}</dd>`,
    `<dt>Indicators contacted</dt><dd class="mono">${list(d.indicators)}</dd>`,
    `<dt>External hosts it talked with</dt><dd class="mono">${d.moreExternalPeers ? `${list(d.externalPeers, 'none listed')}; perhaps more: not all its peers are listed` : list(d.externalPeers)}</dd>`,
    `<dt>External hosts that reached it</dt><dd class="mono">${d.reachedByCount > d.reachedBy.length ? `${count(d.reachedByCount)}, among them ` : ''}${list(d.reachedBy)}</dd>`,
    `<dt>First seen</dt><dd>${esc(eveTime(d.first, true))}</dd>`,
    `<dt>Last seen</dt><dd>${esc(eveTime(d.last, true))}</dd>`,
    `<dt>Flows</dt><dd>${count(d.flows)}${d.unansweredSyns > 0 ? `; ${plural(d.unansweredSyns, 'connection attempt')} never answered` : ''}</dd>`,
    `<dt>Alerts</dt><dd>${d.rules.length === 0 ? 'none' : d.rules.map((r) => `sid ${r.id} × ${count(r.count)} (${esc(r.name)})`).join('<br>')}</dd>`,
    '</dl>',
  ];
  const svg = timelineSvg(d, id);
  if (svg !== '') {
    out.push(`<figure>${svg}<figcaption>Timeline of ${esc(d.address)}: flows per peer (bars; red when a rule alerted on the flow) and alerts (red marks above), UTC.</figcaption></figure>`);
  }
  out.push('</section>');
  return out.join('\n');
}

function alertsSection(model: ReportModel): string {
  const out = ['<section id="alerts" aria-labelledby="h-alerts">', `<h2 id="h-alerts">Alerts (${count(model.alerts)})</h2>`];
  if (model.groups.length === 0) out.push('<p>None.</p>');
  else {
    out.push('<table><caption>Alerts by rule</caption><thead><tr><th scope="col">Rule</th><th scope="col">Severity</th><th scope="col">Alerts</th><th scope="col">First</th><th scope="col">Last</th></tr></thead><tbody>');
    for (const g of model.groups) {
      out.push(`<tr><td><a href="#rule-${g.id}">sid ${g.id}</a> ${esc(g.name)}</td><td class="sev${g.severity}">${g.severity}</td><td class="num">${count(g.count)}</td><td>${esc(eveTime(g.first))}</td><td>${esc(eveTime(g.last))}</td></tr>`);
    }
    out.push('</tbody></table>');
  }
  for (const g of model.groups) out.push(ruleGroup(g, model.evidence === 'full'));
  out.push('</section>');
  return out.join('\n');
}

function ruleGroup(g: RuleGroup, full: boolean): string {
  const out = [
    `<section class="rule" id="rule-${g.id}" aria-labelledby="rule-${g.id}-h">`,
    `<h3 id="rule-${g.id}-h">sid ${g.id}: ${esc(g.name)}</h3>`,
    `<p><span class="sev${g.severity}">severity ${g.severity}</span> · ${esc(g.category)} · ${plural(g.count, 'alert')} ${esc(between(g.first, g.last))} · about ${list(g.hosts)}</p>`,
  ];
  if (g.references.length > 0) {
    out.push(`<p>References: ${g.references.map((r) => (/^https?:\/\//.test(r) ? `<a href="${esc(r)}">${esc(r)}</a>` : esc(r))).join(', ')}</p>`);
  }
  out.push(
    `<table><caption>${g.rows.length < g.count ? `The first ${count(g.rows.length)} of ${count(g.count)} alerts` : plural(g.count, 'alert')} of sid ${g.id}</caption><thead><tr><th scope="col">Time</th><th scope="col">Flow</th><th scope="col">Evidence</th><th scope="col">Packet</th></tr></thead><tbody>`,
  );
  for (const r of g.rows) {
    const evidence = [r.evidence, r.indicator !== null ? `indicator ${r.indicator}` : '', r.note !== null ? `note: ${r.note}` : ''].filter(Boolean).map(esc);
    for (const [label, value] of full ? r.phi : []) evidence.push(`<strong>${esc(label)}</strong>: <span class="mono">${esc(value)}</span>`);
    const packet = r.pcapFile === null ? 'live' : `<span class="mono">${esc(r.pcapFile)}</span> packet ${r.packet ?? '?'}<br><code>wireshark -r ${esc(shellQuote(r.pcapFile))} -g ${r.packet ?? 1}</code>`;
    out.push(
      `<tr><td>${esc(eveTime(r.time, true))}</td><td class="mono">${esc(r.src)} → ${esc(r.dst)}<br>${esc(r.proto)}${r.appProto !== '' ? '/' + esc(r.appProto) : ''}${r.flowId !== null ? ` · flow ${r.flowId}` : ''}</td><td>${evidence.join('<br>') || '—'}</td><td>${packet}</td></tr>`,
    );
  }
  out.push('</tbody></table>');
  if (g.rows.length < g.count) out.push(`<p>${count(g.count - g.rows.length)} more alerts of this rule are not listed here; every one is in the EVE output.</p>`);
  out.push('</section>');
  return out.join('\n');
}

function shellQuote(path: string): string {
  return /^[\w./-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`;
}

function leftSection(model: ReportModel): string {
  const out = ['<section id="left" aria-labelledby="h-left">', '<h2 id="h-left">What left</h2>'];
  out.push('<p>By category, never by value: counted from the alerts about traffic to hosts outside HOME_NET (each alert carries the message, stream or call that raised it). Bytes are those the flows sent towards the external host.</p>');
  if (model.left.length === 0) out.push('<p>Nothing recognised as patient data, mounts or NFS operations left for an external host.</p>');
  else {
    out.push('<table><caption>Data sent to external hosts</caption><thead><tr><th scope="col">Category</th><th scope="col">What</th><th scope="col">Count</th><th scope="col">Bytes sent</th><th scope="col">Detail</th><th scope="col">To</th></tr></thead><tbody>');
    for (const l of model.left) {
      out.push(`<tr><td>${esc(l.kind)}</td><td class="mono">${esc(l.what)}</td><td class="num">${count(l.count)}</td><td class="num">${bytes(l.bytes)}</td><td>${esc(l.detail)}</td><td class="mono">${list(l.to)}</td></tr>`);
    }
    out.push('</tbody></table>');
  }
  out.push('</section>');
  return out.join('\n');
}

function worksheetSection(model: ReportModel): string {
  const hl7 = model.left.filter((l) => l.kind === 'HL7 messages');
  const cms = model.left.filter((l) => l.kind === 'CMS8000 streams');
  const dicom = model.left.filter((l) => l.kind === 'DICOM associations');
  const nature: string[] = [];
  if (hl7.length > 0) nature.push(`HL7 v2 messages (${hl7.map((l) => `${l.count} ${l.what}`).join(', ')}) with segments ${[...new Set(hl7.flatMap((l) => l.detail.split('; ')[1]?.split(', ') ?? []))].join(', ')}: PID carries patient identifiers (name, record number, birth date), OBX observations.`);
  if (cms.length > 0) nature.push(`CMS8000 monitor streams (${cms.map((l) => `${l.count} ${l.what}`).join(', ')}): the patient block holds name, patient number, birth date, admission date, doctor, department and bed; vital-sign blocks hold waveforms and measurements.`);
  if (dicom.length > 0) nature.push(`DICOM associations (${dicom.map((l) => l.what).join(', ')}): images with patient demographics in their headers.`);
  if (nature.length === 0) nature.push('No patient data was recognised leaving for an external host.');
  const recipients = [...new Set([...model.exfiltration.map((e) => e.dest), ...model.mounts.map((m) => m.server), ...model.indicatorContacts.map((i) => i.indicator)])];
  const recipient = recipients.length === 0 ? 'No external recipient seen.' : `${recipients.join(', ')}${model.indicatorContacts.length > 0 ? '; indicator addresses of the Contec CMS8000 backdoor (CISA/FDA 2025), outside the hospital' : ''}.`;
  const transmitted =
    model.exfiltration.length === 0
      ? 'No patient data was seen sent to an external host.'
      : model.exfiltration.map((e) => `to ${e.dest}${e.port !== null ? `:${e.port}` : ''}: ${e.answered ? 'sent, and the far end answered (the connection carried data both ways)' : 'sent; no answer was seen'}`).join('; ') + '.';
  const blocked = model.devices.filter((d) => d.unansweredSyns > 0).map((d) => `${d.address}: ${plural(d.unansweredSyns, 'connection attempt')} never answered`);
  const mitigation = [
    ...(blocked.length > 0 ? [`Some attempts were not answered (blocked upstream or unreachable): ${blocked.join('; ')}.`] : []),
    'Record here the blocking of 202.114.4.0/24, the disconnection of the monitors and any assurance from the recipient.',
  ].join(' ');
  const rows: Array<[string, string]> = [
    ['1. The nature and extent of the protected health information involved, including the types of identifiers and the likelihood of re-identification', nature.join(' ')],
    ['2. The unauthorized person who used the protected health information or to whom the disclosure was made', recipient],
    ['3. Whether the protected health information was actually acquired or viewed', transmitted],
    ['4. The extent to which the risk to the protected health information has been mitigated', mitigation],
  ];
  const out = [
    '<section id="worksheet" aria-labelledby="h-worksheet" class="worksheet">',
    '<h2 id="h-worksheet">HIPAA breach risk assessment worksheet</h2>',
    '<p>The four factors of 45 CFR 164.402 (definition of breach, paragraph (2)), pre-filled with what the traffic shows. The privacy officer completes the assessment; the facts come from the network alone and do not say what the recipient did with the data.</p>',
    '<table><caption>Risk assessment factors</caption><thead><tr><th scope="col">Factor</th><th scope="col">Facts found in the traffic</th><th scope="col">Assessment (privacy officer)</th></tr></thead><tbody>',
    ...rows.map(([factor, facts]) => `<tr><th scope="row">${esc(factor)}</th><td>${esc(facts)}</td><td class="blank"></td></tr>`),
    '</tbody></table>',
    '<table><caption>Conclusion</caption><tbody><tr><th scope="row">Low probability of compromise demonstrated?</th><td class="blank"></td></tr><tr><th scope="row">Completed by, date</th><td class="blank"></td></tr></tbody></table>',
    '</section>',
  ];
  return out.join('\n');
}

function containmentSection(model: ReportModel): string {
  const monitors = model.devices.filter((d) => d.speaks.includes('CMS8000') || d.indicators.length > 0).map((d) => d.address);
  const internalCentral = model.indicatorContacts.filter((i) => i.note !== '');
  const steps = [
    'Block 202.114.4.0/24 in both directions at the perimeter firewall and log any attempt to reach it.',
    `Disconnect the affected monitors from remote networks, as CISA and the FDA advise: a monitor used only locally has its Ethernet cable unplugged and its wireless disabled; a monitor that needs remote monitoring is replaced or taken out of use until the vendor's fix is validated.${monitors.length > 0 ? ` Affected here: ${monitors.join(', ')}.` : ''}`,
    `The monitors' manuals tell hospitals to give their central station the address 202.114.4.119 on the internal network: traffic with that address inside HOME_NET can be the hospital's own central station. Check which host holds it before blocking internal traffic${internalCentral.length > 0 ? ` (seen inside HOME_NET here: ${internalCentral.map((i) => i.indicator).join(', ')})` : ''}.`,
    'Keep the captures and this report as evidence (their SHA-256 are in the first section), and start the breach assessment with the worksheet above.',
    'Watch for the monitors mounting NFS shares or sending to TCP 515 again after containment (wardwatch live on the mirror port).',
  ];
  return [
    '<section id="containment" aria-labelledby="h-containment">',
    '<h2 id="h-containment">Containment</h2>',
    '<ol>',
    ...steps.map((s) => `<li>${esc(s)}</li>`),
    '</ol>',
    '<h3>References</h3>',
    '<ul>',
    ...ADVISORIES.map((a) => `<li><a href="${esc(a.url)}">${esc(a.title)}</a></li>`),
    '<li>CVE-2025-0626, CVE-2025-0683, CVE-2025-1204, CVE-2024-12248</li>',
    '</ul>',
    '</section>',
  ].join('\n');
}
