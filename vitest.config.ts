import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // Two cores: `npm test` runs the media and browser suites one file at a time (test:media), the
    // unit tests two at a time.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default', './test/setup/plain-summary-reporter.ts'],
  },
});
