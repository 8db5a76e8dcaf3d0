/**
 * Shrinks a failing input while it still fails the same way (same signature): whole records or
 * blocks first, then byte ranges of shrinking size. The result is the regression capture.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RuleSet } from '../../src/detect/rule-set.js';
import { signatureOf } from './fuzzer.js';
import { analyzerFault, runCapture, type RunOptions } from './run-input.js';

/** The failure signature of one run, or null when it ran cleanly. */
export async function failureOf(path: string, ruleSet: RuleSet, run: RunOptions): Promise<string | null> {
  try {
    const result = await runCapture(path, ruleSet, run);
    if (result.problems.length === 0) return null;
    const fault = result.problems.some((p) => p.includes('analyzer fault')) ? await analyzerFault(path, ruleSet, run) : null;
    if (fault !== null) return signatureOf('analyzer-fault', `${fault.name}: ${fault.message}`, fault.stack);
    return signatureOf('invariant', result.problems.join('; '));
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    return signatureOf('exception', `${e.name}: ${e.message}`, e.stack);
  }
}

/** Record (pcap) or block (pcapng) boundaries, as far as the length fields can be trusted. */
function recordStarts(b: Buffer): number[] {
  const starts: number[] = [];
  if (b.length < 12) return starts;
  if (b.readUInt32BE(0) === 0x0a0d0d0a) {
    const le = b.length >= 12 && b.readUInt32LE(8) === 0x1a2b3c4d;
    for (let at = 0; at + 12 <= b.length; ) {
      const len = le ? b.readUInt32LE(at + 4) : b.readUInt32BE(at + 4);
      if (len < 12 || at + len > b.length) break;
      starts.push(at);
      at += len;
    }
    return starts;
  }
  const le = b.readUInt32LE(0) === 0xa1b2c3d4 || b.readUInt32LE(0) === 0xa1b23c4d;
  for (let at = 24; at + 16 <= b.length; ) {
    const caplen = le ? b.readUInt32LE(at + 8) : b.readUInt32BE(at + 8);
    if (at + 16 + caplen > b.length) break;
    starts.push(at);
    at += 16 + caplen;
  }
  return starts;
}

export interface MinimizeOptions {
  ruleSet: RuleSet;
  run: RunOptions;
  tmpDir: string;
  /** The file name's ending (pcap, pcapng, pcap.gz...). */
  ext: string;
  /** Runs allowed (each takes milliseconds). */
  budget?: number;
}

export async function minimize(input: Buffer, options: MinimizeOptions): Promise<{ bytes: Buffer; signature: string | null; runs: number }> {
  const path = join(options.tmpDir, `minimize.${options.ext}`);
  let runs = 0;
  const budget = options.budget ?? 4000;
  const fails = async (b: Buffer): Promise<string | null> => {
    runs++;
    writeFileSync(path, b);
    return failureOf(path, options.ruleSet, options.run);
  };
  const target = await fails(input);
  if (target === null) return { bytes: input, signature: null, runs };
  let best = input;
  const stillFails = async (b: Buffer): Promise<boolean> => runs < budget && (await fails(b)) === target;

  // Whole records, last first, so earlier offsets stay valid.
  if (!options.ext.endsWith('.gz')) {
    let progress = true;
    while (progress && runs < budget) {
      progress = false;
      const starts = recordStarts(best);
      for (let k = starts.length - 1; k >= 0; k--) {
        const from = starts[k];
        const to = k + 1 < starts.length ? starts[k + 1] : best.length;
        const candidate = Buffer.concat([best.subarray(0, from), best.subarray(to)]);
        if (await stillFails(candidate)) {
          best = candidate;
          progress = true;
        }
      }
    }
  }
  // Byte ranges, in steps of 4 so the 32-bit fields stay aligned.
  for (let chunk = Math.max(4, 4 * Math.floor(best.length / 8)); chunk >= 4 && runs < budget; chunk = chunk === 4 ? 0 : Math.max(4, 4 * Math.floor(chunk / 8))) {
    for (let at = 0; at < best.length && runs < budget; ) {
      const candidate = Buffer.concat([best.subarray(0, at), best.subarray(at + chunk)]);
      if (await stillFails(candidate)) best = candidate;
      else at += chunk;
    }
  }
  return { bytes: best, signature: target, runs };
}
