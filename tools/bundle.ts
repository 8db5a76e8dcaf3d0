/**
 * Bundles the command line and the replay worker into one file each (dist/bin/), after tsc has
 * checked and compiled src/. A bundle starts about 0.08 s sooner than ~70 separate ES modules
 * plus their dependencies, which Node resolves, reads and compiles one by one; on a short
 * capture that is most of the run. dist/bin/ sits two levels down, like dist/cli/, so the paths
 * the code finds from its own location (rules/, package.json, the worker beside it) hold.
 *
 * The command is a CommonJS bundle (wardwatch.cjs) started by a small launcher (wardwatch.js)
 * that hands V8 a code cache for it: Node 20 caches no ES module's compiled code. The cache is
 * recorded here by replaying a short sample capture once: short, because V8 drops the bytecode of
 * functions unused for a few garbage collections, and a longer run left start-up's out. The
 * replay worker is built the same way (replay-worker.cjs, its launcher replay-worker.js, its own
 * cache recorded by a replay with two worker threads).
 */
import { build, type BuildOptions } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { launcherNodeFlags } from './launcher-flags.js';

const common: BuildOptions = {
  outdir: 'dist/bin',
  bundle: true,
  platform: 'node',
  target: 'node20',
  // Loaded at run time only when needed: the native capture binding, terminal-only modules, and
  // the Redis client.
  external: ['cap', 'pino-pretty', 'cli-progress', 'redis'],
  logLevel: 'warning',
};

const cache = 'dist/bin/wardwatch.cjs.cache';
const workerCache = 'dist/bin/replay-worker.cjs.cache';
// Gone before the bundles change: a failed build must not leave a new bundle beside an old cache.
rmSync(cache, { force: true });
rmSync(workerCache, { force: true });
await build({
  ...common,
  entryPoints: { wardwatch: 'src/cli/main.ts', 'replay-worker': 'src/pipeline/replay-worker.ts' },
  outExtension: { '.js': '.cjs' },
  format: 'cjs',
  // The code finds rules/, package.json and the worker from its own location.
  define: { 'import.meta.url': 'bundleUrl', 'import.meta.bundled': 'true' },
  // "use strict" first: after another statement it would no longer be a directive.
  banner: { js: "'use strict';\nconst bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
});
await build({
  ...common,
  entryPoints: { wardwatch: 'src/cli/launcher.ts', 'replay-worker': 'src/pipeline/replay-worker-launcher.ts' },
  format: 'esm',
  // Bundled CommonJS dependencies call require() for Node's own modules.
  banner: { js: "import { createRequire as createRequireForBundle } from 'node:module'; const require = createRequireForBundle(import.meta.url);" },
});

const sample = 'pcaps/cms8000-to-indicator.pcap';
/** Replays the sample once with `env` set, so that a launcher records its cache; says so when it did not. */
function record(file: string, env: string, extra: string[]): void {
  const recording = spawnSync(process.execPath, [...launcherNodeFlags(), 'dist/bin/wardwatch.js', 'replay', sample, '--format', 'json', ...extra], {
    env: { ...process.env, [env]: '1' },
    stdio: 'ignore',
  });
  // Only start-up time depends on it: the command works without.
  if (!existsSync(file)) process.stderr.write(`bundle: no code cache recorded for ${file} (replay of ${sample} exited with ${recording.status ?? recording.signal})\n`);
}
record(cache, 'WARDWATCH_RECORD_CODE_CACHE', []);
record(workerCache, 'WARDWATCH_RECORD_WORKER_CODE_CACHE', ['--workers', '2']);
