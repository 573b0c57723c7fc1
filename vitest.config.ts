import { configDefaults, defineConfig } from 'vitest/config';

// Two projects, run one after the other (groupOrder): first the unit tests, then the tests that
// boot guests.
//
// Integration and e2e tests boot real QEMU guests; on a 2-core host two of them at once would starve
// each other, so their files run one after another, each in a process of its own: the forks pool,
// held to one fork.
//
// Unit tests boot no guest, and several of their files wait on timers or child processes, so they
// run side by side. Vitest keeps one pool of each kind for the whole run, sized only by the pool
// options at the root, so they need a pool other than forks: vmForks (child processes, a fresh VM
// context per file). Worker threads are no choice: a unit run in the threads pool crashed (SIGSEGV)
// after the files that load the vhost-user native addon.
//
// The projects do not extend the root config: its globalSetup (one temporary folder for the whole
// run) would then run once more per project. They share the options below instead.
const shared = {
  testTimeout: 30_000,
  hookTimeout: 120_000,
};

export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    reporters: ['default'],
    fileParallelism: true,
    poolOptions: {
      vmForks: { minForks: 1, maxForks: 3 },
      forks: { minForks: 1, maxForks: 1 },
    },
    projects: [
      {
        test: { ...shared, name: 'unit', include: ['test/unit/**/*.test.ts'], pool: 'vmForks', sequence: { groupOrder: 0 } },
      },
      {
        test: {
          ...shared,
          name: 'guests',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/unit/**'],
          pool: 'forks',
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
