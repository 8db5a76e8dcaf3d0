/** Self time per function from V8 `.cpuprofile` files (the format `node --cpu-prof` writes). */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
}

interface CpuProfile {
  nodes: CpuProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  /** Function name and where it is defined. */
  name: string;
  location: string;
  selfMs: number;
  share: number;
}

/** Functions by self time, summed over the profiles (one per thread), largest first. */
export function selfTimes(files: string[], root: string): { totalMs: number; functions: SelfTime[] } {
  const byFunction = new Map<string, { name: string; location: string; us: number }>();
  let totalUs = 0;
  for (const file of files) {
    const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    const frames = new Map<number, CpuProfileNode['callFrame']>();
    for (const node of profile.nodes) frames.set(node.id, node.callFrame);
    // timeDeltas[i + 1] is the time from sample i to the next one: spent where sample i was taken.
    for (let i = 0; i < profile.samples.length; i++) {
      const us = profile.timeDeltas[i + 1] ?? 0;
      const frame = frames.get(profile.samples[i]);
      if (frame === undefined) continue;
      const name = frame.functionName || '(anonymous)';
      const location = frame.url === '' ? '' : `${shortUrl(frame.url, root)}:${frame.lineNumber + 1}`;
      const key = `${name}\u0000${location}`;
      const entry = byFunction.get(key) ?? { name, location, us: 0 };
      entry.us += us;
      byFunction.set(key, entry);
      totalUs += us;
    }
  }
  const functions = [...byFunction.values()]
    .sort((a, b) => b.us - a.us)
    .map((f) => ({ name: f.name, location: f.location, selfMs: f.us / 1000, share: totalUs > 0 ? f.us / totalUs : 0 }));
  return { totalMs: totalUs / 1000, functions };
}

function shortUrl(url: string, root: string): string {
  if (!url.startsWith('file://')) return url;
  return relative(root, decodeURIComponent(new URL(url).pathname));
}
