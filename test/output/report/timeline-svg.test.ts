import { describe, expect, it } from 'vitest';
import type { DeviceSection, TimelineFlow } from '../../../src/output/report/model.js';
import { timelineSvg } from '../../../src/output/report/timeline-svg.js';

function device(flows: TimelineFlow[], alerts: Array<{ t: number; id: number }>): DeviceSection {
  return {
    address: '10.1.2.3', mac: null, speaks: [], names: [], indicators: [], rules: [], flows: flows.length,
    unansweredSyns: 0, externalPeers: [], moreExternalPeers: false, reachedBy: [], reachedByCount: 0, first: '', last: '', timeline: { flows, alerts },
  };
}

const T = 1_700_000_000;
const flow = (start: number, end: number, peer: string, alerted = false): TimelineFlow => ({ start, end, peer, label: 'TCP 515', alerted });

/** x of each alert mark, in document order. */
function alertXs(svg: string): number[] {
  return [...svg.matchAll(/<path d="M([\d.]+) /g)].map((m) => Number(m[1]));
}

describe('timeline SVG', () => {
  it('maps later times to larger x, draws each flow and alert, and has a text alternative', () => {
    const svg = timelineSvg(device([flow(T, T + 10, '202.114.4.1', true), flow(T + 20, T + 30, '10.0.0.9')],
      [{ t: T + 5, id: 1 }, { t: T + 25, id: 2 }, { t: T + 29, id: 3 }]), 'd1');
    const xs = alertXs(svg);
    expect(xs).toHaveLength(3);
    expect(xs[0]).toBeLessThan(xs[1]);
    expect(xs[1]).toBeLessThan(xs[2]);
    expect(svg.match(/<rect [^>]*height="10"[^>]*><title>TCP 515 with/g)).toHaveLength(2);
    expect(svg).toContain('202.114.4.1');
    expect(svg).toMatch(/<title id="d1-title">Timeline of 10\.1\.2\.3<\/title>/);
    expect(svg).toMatch(/<desc id="d1-desc">2 flows with 2 peer lanes and 3 alerts/);
    expect(svg).toContain('aria-labelledby="d1-title d1-desc"');
    expect(svg).not.toMatch(/NaN|Infinity/);
  });

  it('draws alerts of one rule close in time as one mark that counts them, and keeps other rules and times apart', () => {
    const burst = Array.from({ length: 300 }, (_, i) => ({ t: T + i / 100, id: 1000001 }));
    const svg = timelineSvg(device([], [...burst, { t: T + 1, id: 1000002 }, { t: T + 600, id: 1000001 }]), 'd4');
    const titles = [...svg.matchAll(/<path [^>]*><title>([^<]*)<\/title>/g)].map((m) => m[1]);
    expect(titles).toHaveLength(3);
    expect(titles[0]).toMatch(/^sid 1000001 × 300, /);
    expect(titles[1]).toMatch(/^sid 1000002 at /);
    expect(titles[2]).toMatch(/^sid 1000001 at /);
    expect(alertXs(svg)[2]).toBeGreaterThan(alertXs(svg)[0]);
    expect(svg).toMatch(/and 302 alerts/);
  });

  it('is empty when there is nothing to draw', () => {
    expect(timelineSvg(device([], []), 'd2')).toBe('');
  });

  it('draws a single instant without NaN', () => {
    const svg = timelineSvg(device([flow(T, T, '10.0.0.9')], [{ t: T, id: 7 }]), 'd3');
    expect(svg).toContain('<svg');
    expect(svg).not.toMatch(/NaN|Infinity/);
    expect(alertXs(svg)).toHaveLength(1);
  });
});
