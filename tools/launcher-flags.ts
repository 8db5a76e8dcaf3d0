/**
 * The V8 flags the built command starts with, read from its launcher's first line
 * (`#!/usr/bin/env -S node ...`, src/cli/launcher.ts). Its `bin` entry gets them from that line;
 * the build, the bench and the tests start it as `node <flags> dist/bin/wardwatch.js` so that they
 * run what users run, and so that the code cache the build records is the one a user's start
 * accepts: V8 rejects a cache made under other flags.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const LAUNCHER = fileURLToPath(new URL('../src/cli/launcher.ts', import.meta.url));

export function launcherNodeFlags(): string[] {
  const first = readFileSync(LAUNCHER, 'utf8').split('\n', 1)[0];
  const m = /^#!\/usr\/bin\/env -S node((?: --[\w-]+(?:=\S+)?)*)$/.exec(first);
  if (!m) throw new Error(`${LAUNCHER}:1: expected '#!/usr/bin/env -S node [--flag ...]', found '${first}'`);
  return m[1].split(' ').filter((f) => f !== '');
}
