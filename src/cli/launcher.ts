#!/usr/bin/env -S node --max-semi-space-size=8
/**
 * The built command's entry point (dist/bin/wardwatch.js): runs the bundled program beside it,
 * from V8's code cache when the build recorded one. Compiling the 1.6 MB bundle from source took
 * a quarter of the start-up, which is most of a short replay; the cache holds the bytecode of all
 * a replay's start-up runs.
 *
 * The first line caps V8's young generation at two 8 MiB semi-spaces (Node's default lets them
 * grow to 16 MiB each): the heap's live data is about 20 MiB whatever the capture's size, but the
 * young generation kept growing into its larger cap for seconds, so peak memory rose with the
 * length of a replay. Anything that starts this file with `node` must pass the same flags
 * (tools/launcher-flags.ts reads them from here): V8 takes the code cache only under the flags
 * it was recorded with.
 */
import { fileURLToPath } from 'node:url';
import { compileBundle, runBundle } from '../lib/code-cache.js';
import { holdStopSignals } from './stop-signals.js';

// Before the bundle is even compiled (a good part of start-up on a busy machine): live must
// not lose a SIGINT or SIGTERM sent while it starts, nor die of it before writing its stats.
if (process.argv[2] === 'live') holdStopSignals();

/** Set by the build, which runs the command once so the cache covers what start-up compiles. */
const RECORD_ENV = 'WARDWATCH_RECORD_CODE_CACHE';

const bundle = fileURLToPath(new URL('./wardwatch.cjs', import.meta.url));
const compiled = compileBundle(bundle);
if (process.env[RECORD_ENV] === '1') process.on('exit', () => compiled.recordCache());
runBundle(compiled, bundle);
