import { DEFAULT_HOME_NET, type AddressSet, type Entry } from './address-set.js';
import { listIndicatorFiles, loadIndicatorFiles, type Indicator } from './indicators.js';
import { RuleLoadError, formatLocation, loadRuleDir } from './rule-loader.js';
import { addressSetOf, compileRules, type CompiledRole, type CompiledRule, type EventTest } from './rule.js';
import { AlertGate } from './thresholds.js';
import { join } from 'node:path';

export type IndicatorEntry = Entry<Indicator>;

export interface RuleSetOptions {
  rulesDir: string;
  /** Extra indicator files on top of the rules directory's `indicators/`. */
  indicatorFiles?: readonly string[];
  /** Lists of the hospital's patient monitors (the formats of indicator lists), for `listed_in: monitors`. */
  monitorFiles?: readonly string[];
  homeNet?: readonly string[];
}

/** Everything the rule engine needs, loaded and compiled together so a reload swaps it whole. */
export class RuleSet {
  private constructor(
    readonly rules: readonly CompiledRule[],
    readonly gate: AlertGate,
    readonly indicators: AddressSet<Indicator>,
    readonly homeNet: AddressSet<true>,
    readonly unlessTests: readonly EventTest[],
    readonly files: readonly string[],
    readonly roles: readonly CompiledRole[],
    /** The hosts the monitors lists name. */
    readonly monitors: AddressSet<Indicator>,
  ) {
    this.seenTypes = new Set(rules.flatMap((r) => r.seen ?? []));
  }

  /** Event types some rule requires seen on a flow: the engine keeps the last of each as evidence. */
  readonly seenTypes: ReadonlySet<string>;

  /** The list entry naming the host at words[at..] for a role the user lists, or null. */
  listed(role: CompiledRole, version: 4 | 6, words: ArrayLike<number>, at: number): IndicatorEntry | null {
    return role.listedIn === 'monitors' ? this.monitors.lookup(version, words, at) : null;
  }

  /**
   * Loads rules, thresholds and indicator lists. Rule problems reject the whole set
   * (RuleLoadError), as does a named indicator file that cannot be read; bad indicator lines are
   * skipped and reported in `warnings`.
   */
  static async load(options: RuleSetOptions): Promise<{
    ruleSet: RuleSet;
    warnings: string[];
    indicatorCounts: Array<{ file: string; loaded: number; skipped: number }>;
    monitorCounts: Array<{ file: string; loaded: number; skipped: number }>;
  }> {
    let homeNet: AddressSet<true>;
    if (options.homeNet !== undefined && options.homeNet.length === 0) throw new RuleLoadError(['HOME_NET is empty: every address would be external and no patient-data rule could fire']);
    try {
      homeNet = addressSetOf(options.homeNet ?? DEFAULT_HOME_NET);
    } catch (err) {
      throw new RuleLoadError([`HOME_NET: ${(err as Error).message}`]);
    }
    const files = await loadRuleDir(options.rulesDir);
    const vars = { homeNet };
    const { rules, roles, problems } = compileRules(files, vars);
    const suppressions = files.flatMap((f) => f.content.suppressions.map((s, i) => ({ s, f, i })));
    const thresholds = files.flatMap((f) => f.content.thresholds);
    const gate = new AlertGate(
      suppressions.map((x) => x.s),
      thresholds,
      vars,
      (index, message) => problems.push(`${formatLocation(suppressions[index].f.locate(['suppressions', suppressions[index].i, 'ip']))}: ${message}`),
    );
    if (problems.length > 0) throw new RuleLoadError(problems);

    // The lists shipped beside the rules; a rules directory without an indicators/ folder has none.
    const beside = await listIndicatorFiles(join(options.rulesDir, 'indicators'));
    const loaded = await loadIndicatorFiles([...beside.paths, ...(options.indicatorFiles ?? [])]);
    // A list the user named and that cannot be read is an error: the run would miss what it was asked to watch for.
    const named = (options.indicatorFiles ?? []).flatMap((f) => loaded.unreadable.get(f) ?? []);
    if (named.length > 0) throw new RuleLoadError(named);
    const warnings = [...loaded.problems];
    const code = (beside.error as NodeJS.ErrnoException | null)?.code;
    const besideDir = join(options.rulesDir, 'indicators');
    if (code === 'ENOENT') warnings.unshift(`${besideDir}: no indicator directory beside the rules: only the lists given with --indicators are loaded`);
    else if (beside.error !== null) warnings.unshift(`${besideDir}: cannot read indicator directory: ${code ?? String(beside.error)}`);
    const indicatorCounts = loaded.files;
    const indicators = loaded.set;

    // The user named these files: one that cannot be read is an error, not a list skipped.
    const monitorFiles = options.monitorFiles ?? [];
    const monitors = await loadIndicatorFiles(monitorFiles, 'monitors list');
    if (monitors.unreadable.size > 0) throw new RuleLoadError([...monitors.unreadable.values()]);
    warnings.push(...monitors.problems);
    if (monitorFiles.length > 0 && !roles.some((r) => r.listedIn === 'monitors')) warnings.push(`no host role of the rules is listed_in: monitors, so the monitors lists are not used: ${monitorFiles.join(', ')}`);

    // One test per distinct spec: host pairs remember specs, which outlive a reload.
    const unlessTests = [...new Map(rules.filter((r) => r.unlessSeenBetweenHosts !== null).map((r) => [r.unlessSeenBetweenHosts!.key, r.unlessSeenBetweenHosts!])).values()];
    return {
      ruleSet: new RuleSet(rules, gate, indicators, homeNet, unlessTests, files.map((f) => f.file), roles, monitors.set),
      warnings,
      indicatorCounts,
      monitorCounts: monitors.files,
    };
  }
}

