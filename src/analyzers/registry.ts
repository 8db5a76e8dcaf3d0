import type { AnalyzerFactory } from './analyzer.js';
import { cms8000Analyzer } from './cms8000.js';
import { hl7Analyzer } from './hl7.js';
import { lpdAnalyzer } from './lpd.js';
import { rpcAnalyzer } from './rpc.js';

/** Every payload analyzer, tried on every flow of a transport it speaks. */
export const ANALYZERS: readonly AnalyzerFactory[] = [hl7Analyzer, cms8000Analyzer, lpdAnalyzer, rpcAnalyzer];
