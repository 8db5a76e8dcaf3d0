import { linkTypeName } from '../decode/link-types.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import type { CaptureReport } from '../pipeline/replay.js';

/** End-of-run summary for people. */
export function formatSummary(reports: CaptureReport[], pipeline: Pipeline, seconds: number): string {
  const s = pipeline.decoder.stats;
  const d = pipeline.decoder.defrag.stats;
  const lines: string[] = [];
  for (const r of reports) {
    const state = r.error ? `damaged at byte ${r.error.offset}` : 'complete';
    lines.push(`capture ${r.name}: ${r.format}${r.compressed ? ' (gzip)' : ''}, ${r.packets} packets, ${state}`);
  }
  const mbps = seconds > 0 ? (s.bytes * 8) / seconds / 1e6 : 0;
  lines.push(`packets ${s.packets}, bytes ${s.bytes}, ${seconds.toFixed(3)} s (${mbps.toFixed(1)} Mbit/s)`);
  lines.push(`link types: ${[...s.byLinkType].map(([t, n]) => `${linkTypeName(t)} ${n}`).join(', ') || 'none'}`);
  const protocols: Array<[string, number]> = [
    ['ipv4', s.ipv4],
    ['ipv6', s.ipv6],
    ['tcp', s.tcp],
    ['udp', s.udp],
    ['icmp', s.icmpv4],
    ['icmpv6', s.icmpv6],
    ['other-ip', s.otherIpProto],
    ['non-ip', s.nonIp],
    ['vlan', s.vlan],
    ['gre', s.gre],
    ['erspan', s.erspan],
    ['vxlan', s.vxlan],
  ];
  lines.push(`protocols: ${protocols.filter(([, n]) => n > 0).map(([p, n]) => `${p} ${n}`).join(', ') || 'none'}`);
  lines.push(`fragments: ${d.fragments} (reassembled ${d.reassembled}, timed out ${d.timeouts}, evicted ${d.evicted}, overlap conflicts ${d.overlapConflicts})`);
  lines.push(`decode errors: ${s.invalid}${s.invalid > 0 ? ' (' + [...s.invalidByReason].map(([r, n]) => `${r} ${n}`).join(', ') + ')' : ''}`);
  if (s.anomalies.size > 0) lines.push(`anomalies: ${[...s.anomalies].map(([r, n]) => `${r} ${n}`).join(', ')}`);
  if (s.truncatedBySnaplen > 0) lines.push(`cut by snap length: ${s.truncatedBySnaplen}`);
  return lines.join('\n') + '\n';
}
