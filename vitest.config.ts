import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // CI reads one plain closing line; Vitest's own summary stays for people.
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
