/**
 * A device's timeline as inline SVG: one lane per peer with its flows as bars, the alerts as marks
 * above them, and a time axis. Presentation attributes only (no style attributes), so the page's
 * Content-Security-Policy allows it; every mark has a title, and the figure a text alternative.
 */
import type { DeviceSection } from './model.js';
import { esc, shortTime } from './text.js';

const WIDTH = 760;
const LEFT = 150;
const RIGHT = 20;
const LANE = 18;
const MAX_LANES = 10;
/** Alerts closer than this on the time axis share a mark. */
const MARK_PX = 4;

export function timelineSvg(device: DeviceSection, id: string): string {
  const { flows, alerts } = device.timeline;
  const times = [...flows.flatMap((f) => [f.start, f.end]), ...alerts.map((a) => a.t)].filter((t) => t > 0);
  if (times.length === 0) return '';
  let t0 = Math.min(...times);
  let t1 = Math.max(...times);
  if (t1 - t0 < 1) {
    t0 -= 0.5;
    t1 += 0.5;
  }
  const peers: string[] = [];
  for (const f of flows) if (!peers.includes(f.peer) && peers.length < MAX_LANES) peers.push(f.peer);
  const others = flows.some((f) => !peers.includes(f.peer));
  const lanes = [...peers, ...(others ? ['other peers'] : [])];
  const top = 34;
  const height = top + lanes.length * LANE + 40;
  const x = (t: number) => LEFT + ((t - t0) / (t1 - t0)) * (WIDTH - LEFT - RIGHT);
  const parts: string[] = [];
  const titleId = `${id}-title`;
  const descId = `${id}-desc`;
  const span = `${shortTime(t0)} to ${shortTime(t1)}`;
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-labelledby="${titleId} ${descId}" class="timeline">`,
    `<title id="${titleId}">Timeline of ${esc(device.address)}</title>`,
    `<desc id="${descId}">${flows.length} flow${flows.length === 1 ? '' : 's'} with ${lanes.length} peer lane${lanes.length === 1 ? '' : 's'} and ${alerts.length} alert${alerts.length === 1 ? '' : 's'}, ${esc(span)}.</desc>`,
    `<rect x="0" y="0" width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="8" y="${top - 14}" font-size="11" fill="#222">alerts</text>`,
  );
  // Alerts of one rule that fall within a mark's width of each other share one mark: hundreds of
  // marks drawn over each other made a device's figure 30 KB and told no more.
  const marks = new Map<string, { x: number; id: number; count: number; first: number; last: number }>();
  for (const a of alerts) {
    const column = Math.round(x(a.t) / MARK_PX);
    const key = `${a.id}/${column}`;
    const mark = marks.get(key);
    if (mark === undefined) marks.set(key, { x: column * MARK_PX, id: a.id, count: 1, first: a.t, last: a.t });
    else {
      mark.count++;
      mark.first = Math.min(mark.first, a.t);
      mark.last = Math.max(mark.last, a.t);
    }
  }
  for (const m of [...marks.values()].sort((a, b) => a.x - b.x || a.id - b.id)) {
    const when = m.count === 1 ? `at ${shortTime(m.first)}` : `× ${m.count}, ${shortTime(m.first)} to ${shortTime(m.last)}`;
    parts.push(`<path d="M${m.x.toFixed(1)} ${top - 6} l-5 -9 h10 z" fill="#b00020"><title>sid ${m.id} ${esc(when)}</title></path>`);
  }
  lanes.forEach((lane, i) => {
    const y = top + i * LANE;
    parts.push(`<rect x="${LEFT}" y="${y}" width="${WIDTH - LEFT - RIGHT}" height="${LANE - 2}" fill="${i % 2 === 0 ? '#f2f4f7' : '#e8ebf0'}"/>`);
    parts.push(`<text x="8" y="${y + 12}" font-size="11" fill="#222">${esc(lane)}</text>`);
  });
  for (const f of flows) {
    const lane = peers.indexOf(f.peer);
    const y = top + (lane < 0 ? peers.length : lane) * LANE + 3;
    const start = x(f.start > 0 ? f.start : t0);
    const w = Math.max(3, x(f.end > 0 ? f.end : f.start) - start);
    parts.push(
      `<rect x="${start.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${LANE - 8}" fill="${f.alerted ? '#b00020' : '#2f5d9e'}"><title>${esc(f.label)} with ${esc(f.peer)}, ${esc(shortTime(f.start))} to ${esc(shortTime(f.end))}${f.alerted ? ', alerted' : ''}</title></rect>`,
    );
  }
  const axisY = top + lanes.length * LANE + 6;
  parts.push(`<line x1="${LEFT}" y1="${axisY}" x2="${WIDTH - RIGHT}" y2="${axisY}" stroke="#444" stroke-width="1"/>`);
  for (let i = 0; i <= 4; i++) {
    const t = t0 + ((t1 - t0) * i) / 4;
    const tx = x(t);
    const anchor = i === 0 ? 'start' : i === 4 ? 'end' : 'middle';
    parts.push(`<line x1="${tx.toFixed(1)}" y1="${axisY}" x2="${tx.toFixed(1)}" y2="${axisY + 5}" stroke="#444"/>`);
    parts.push(`<text x="${tx.toFixed(1)}" y="${axisY + 18}" font-size="10" text-anchor="${anchor}" fill="#222">${esc(shortTime(t).slice(11))}</text>`);
  }
  parts.push(`<text x="8" y="${axisY + 18}" font-size="10" fill="#222">${esc(shortTime(t0).slice(0, 10))} UTC</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}
