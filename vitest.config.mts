import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // type-graphql loads graphql's CommonJS build; tests must share that one instance.
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/support/setup.ts'],
    // Migrates one template database per run; each test's storage is a copy of it.
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Most tests wait on databases, child processes and sockets rather than on the CPU: on
    // small machines (CI has 2 cores) run at least three files at once.
    maxWorkers: Math.max(availableParallelism() - 1, 3),
    reporters: ['default'],
  },
});
