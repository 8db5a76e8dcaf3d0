import { RuleSet } from '../detect/rule-set.js';
import { RuleLoadError } from '../detect/rule-loader.js';

const SEVERITY_NAMES = { 1: 'high', 2: 'medium', 3: 'low' } as const;

/** `wardwatch rules check`: validates rules, thresholds and indicator lists; exit 2 on error. */
export async function rulesCheck(options: { rules: string; homeNet?: string[]; indicators?: string[]; monitors?: string[] }): Promise<number> {
  try {
    const { ruleSet, warnings, indicatorCounts, monitorCounts } = await RuleSet.load({ rulesDir: options.rules, homeNet: options.homeNet, indicatorFiles: options.indicators, monitorFiles: options.monitors });
    for (const w of warnings) process.stderr.write(`wardwatch: warning: ${w}\n`);
    const indicators = indicatorCounts.reduce((n, f) => n + f.loaded, 0);
    const monitors = monitorCounts.reduce((n, f) => n + f.loaded, 0);
    const monitorText = monitorCounts.length > 0 ? `, ${monitors} monitors in ${monitorCounts.length} lists` : '';
    process.stdout.write(`${ruleSet.rules.length} rules in ${ruleSet.files.length} files, ${indicators} indicators in ${indicatorCounts.length} lists${monitorText}: OK\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof RuleLoadError)) throw err;
    for (const problem of err.problems) process.stderr.write(`${problem}\n`);
    return 2;
  }
}

/** `wardwatch rules list`: id, severity and name of every enabled rule. */
export async function rulesList(options: { rules: string; homeNet?: string[] }): Promise<number> {
  try {
    const { ruleSet } = await RuleSet.load({ rulesDir: options.rules, homeNet: options.homeNet });
    for (const r of [...ruleSet.rules].sort((a, b) => a.id - b.id)) {
      process.stdout.write(`${r.id}\t${r.severity} (${SEVERITY_NAMES[r.severity]})\t${r.name}\n`);
    }
    return 0;
  } catch (err) {
    if (!(err instanceof RuleLoadError)) throw err;
    for (const problem of err.problems) process.stderr.write(`${problem}\n`);
    return 2;
  }
}
