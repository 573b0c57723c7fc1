// Where things live: the project root (found from this file, not the working directory), the
// results and reports folders, and the private runtime directory for sockets and pid files.

import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';

export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export const defaultResultsDir = join(projectRoot, 'results');
export const defaultReportsDir = join(projectRoot, 'reports');
export const profilesDir = join(projectRoot, 'profiles');

/**
 * Parent of every run's runtime directory (sockets, QMP, pid files). Short, because UNIX socket
 * paths are limited to 107 bytes; under /run because it is root's tmpfs and is wiped at boot.
 */
export const runtimeRoot = process.env.IOPATH_RUNTIME_DIR ?? (process.getuid?.() === 0 ? '/run/iopath' : join(process.env.XDG_RUNTIME_DIR ?? '/tmp', 'iopath'));
