import type { Analyzer, AnalyzerContext, AnalyzerFactory, EvidenceMode, Expectation } from '../../src/analyzers/analyzer.js';
import type { AppEvent } from '../../src/analyzers/events.js';

/** One analyzer on one made-up TCP flow, with everything it reports recorded. */
export interface AnalyzerRun {
  analyzer: Analyzer;
  events: AppEvent[];
  expectations: Expectation[];
}

export function startAnalyzer(factory: AnalyzerFactory, flow: { clientPort: number; serverPort: number }, evidence: EvidenceMode = 'redacted'): AnalyzerRun {
  const events: AppEvent[] = [];
  const expectations: Expectation[] = [];
  const ctx: AnalyzerContext = {
    flow: { transport: 'tcp', ...flow },
    evidence,
    emit: (e) => events.push(e),
    expect: (x) => expectations.push(x),
    anomaly: () => undefined,
  };
  return { analyzer: factory.create(ctx), events, expectations };
}
