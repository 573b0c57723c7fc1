import { defineConfig } from 'vitest/config';

// Integration and e2e tests boot real QEMU guests; on a 2-core host two of them at once would
// starve each other, so test files run one after another.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
