import type { CaptureCounters } from '../capture/capture-stats.js';
import type { RuleSet } from '../detect/rule-set.js';
import type { RunStats } from '../stats/run-stats.js';
import type { InputOutcome, ReplayHooks, ReplayInput } from './replay.js';

/**
 * One analysis run as the command line drives it, whether it analyses on this thread (Detector)
 * or across worker threads (ShardedReplay): captures in, findings to the sink it was made with,
 * counters out.
 */
export interface Analysis {
  /** Reads the captures as one, in timestamp order, and analyses them; the captures are closed after. */
  replay(inputs: readonly ReplayInput[], hooks?: ReplayHooks): Promise<InputOutcome[]>;
  /** End of input: every open flow ends and reports. */
  finish(): void;
  stats(capture?: CaptureCounters): RunStats;
  /** Alerts raised so far. */
  readonly alerts: number;
  /** Whether reload() can swap the rules during the run. */
  canReload(): boolean;
  /** Swaps in new rules; flows keep their state. Only when canReload(). */
  reload(ruleSet: RuleSet): void;
}
