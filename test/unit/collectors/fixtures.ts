// Paths to the real tool output under test/fixtures, for the collector unit tests.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../fixtures/', import.meta.url));

/** Path of a fixture, e.g. fixturePath('perf', 'perf-stat_...txt'). */
export function fixturePath(...parts: string[]): string {
  return root + parts.join('/');
}

export function fixtureText(...parts: string[]): string {
  return readFileSync(fixturePath(...parts), 'utf8');
}

export function fixtureJson(...parts: string[]): unknown {
  return JSON.parse(fixtureText(...parts));
}
