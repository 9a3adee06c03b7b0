import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/no-unhandled.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
    // CI also writes a machine-readable summary that .ci/run turns into one closing line.
    reporters: process.env.CI ? ['default', ['json', { outputFile: '.cache/vitest-results.json' }]] : ['default'],
  },
});
