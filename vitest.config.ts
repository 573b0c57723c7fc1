import { configDefaults, defineConfig } from 'vitest/config';

// Three projects in two groups (groupOrder): first the unit tests and, beside them, the tests that
// drive real host processes but boot no guest; then the tests that boot guests.
//
// Integration and e2e tests boot real QEMU guests; on a 2-core host two of them at once would starve
// each other, so their files run one after another, each in a process of its own: the forks pool,
// held to one fork.
//
// Unit tests boot no guest, and several of their files wait on timers or child processes, so they
// run side by side. So do the host tests: the switch process under attack, the CLI refusing bad
// input, the installer against a stand-in apt, the report in a real browser. They start processes
// on the host but no QEMU guest, so they share the first group's pool rather than wait for a turn
// in the guests' single fork (a file belongs in that list only if it boots no guest).
//
// Vitest keeps one pool of each kind for the whole run, sized only by the pool options at the root,
// so these need a pool other than forks: vmForks (child processes, a fresh VM context per file).
// Worker threads are no choice: a unit run in the threads pool crashed (SIGSEGV) after the files
// that load the vhost-user native addon.
//
// The projects do not extend the root config: its globalSetup (one temporary folder for the whole
// run) would then run once more per project. They share the options below instead.
const shared = {
  testTimeout: 30_000,
  hookTimeout: 120_000,
};

/** Files outside test/unit that start real host processes but boot no guest. */
const hostOnly = [
  'test/e2e/bad-input.test.ts',
  'test/e2e/refused-at-once.test.ts',
  'test/integration/install.test.ts',
  'test/integration/report/{ablation-browser,browser,real-run}.test.ts',
  'test/integration/vhost-user/{fuzz,kill,listen-ready,ring-states,run-switch,security-control,security-data,switch-process}.test.ts',
];

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
        test: { ...shared, name: 'host', include: hostOnly, pool: 'vmForks', sequence: { groupOrder: 0 } },
      },
      {
        test: {
          ...shared,
          name: 'guests',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/unit/**', ...hostOnly],
          pool: 'forks',
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
