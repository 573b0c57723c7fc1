// The guest image recipe (images/recipe.json, or --images-dir): its schema and its reading. A
// recipe is user input: package names reach apt's command line and file paths reach the disk, so
// both are checked before anything is run or read, and every problem is a UsageError (exit 2).

import { isAbsolute, join, normalize, relative } from 'node:path';
import { z } from 'zod';
import { formatIssues } from '../config/load.ts';
import { MAX_BYTES, readUserFile, requireDirectory } from '../config/user-file.ts';
import { UsageError } from '../errors.ts';

/** A Debian package name (Debian Policy 5.6.1); never starts with "-", so it cannot pass as an option. */
const debianName = z.string().regex(/^[a-z0-9][a-z0-9+.-]{1,99}$/, 'not a Debian package name');
/** Guest path -> path in a folder. Keys are absolute paths in the guest, without "..". */
const guestFiles = () =>
  z.record(z.string(), innerPath).superRefine((files, ctx) => {
    for (const guestPath of Object.keys(files)) {
      if (!/^(\/[A-Za-z0-9._+-]+)+$/.test(guestPath) || guestPath.split('/').includes('..')) {
        ctx.addIssue({ code: 'custom', path: [guestPath], message: 'the guest path must be an absolute path of letters, digits and . _ + -, without ".."' });
      }
    }
  });
/** A path relative to a folder, that stays inside it. */
const innerPath = z
  .string()
  .min(1)
  .max(1024)
  .refine((p) => !isAbsolute(p) && !normalize(p).startsWith('..'), 'must be a relative path that stays inside its folder');

export const recipeSchema = z.strictObject({
  $comment: z.string().optional(),
  /** Meta-package of the guest kernel, e.g. linux-image-amd64. */
  kernelPackage: debianName,
  /** Packages unpacked into the image (their programs and libraries are taken from them). */
  packages: z.array(debianName).min(1).max(200),
  /** Kernel modules loaded by /init, in this order. */
  modules: z.array(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'not a kernel module name')).max(200),
  /** Path in the guest -> path inside the unpacked packages. */
  programs: guestFiles(),
  /** Path in the guest -> path under the recipe's folder. */
  files: guestFiles(),
  cmdline: z.string().max(4096),
});

export type Recipe = z.output<typeof recipeSchema>;

/** Read and check `recipe.json` of an images folder. */
export function loadRecipe(imagesDir: string): Recipe {
  const fix = 'pass --images-dir a folder holding recipe.json and the files it names (like images/ of the project)';
  requireDirectory(imagesDir, 'guest image folder', fix);
  const path = join(imagesDir, 'recipe.json');
  const bytes = readUserFile(path, { what: 'image recipe', maxBytes: MAX_BYTES.recipe, fix });
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new UsageError(`${path}: not valid JSON: ${(err as Error).message}`, fix);
  }
  const parsed = recipeSchema.safeParse(raw);
  if (!parsed.success) throw new UsageError(formatIssues(path, parsed.error.issues, 'image recipe'), fix);
  // Kept whole (comment included): the image's content hash is taken over it.
  return parsed.data;
}

/** A file the recipe copies into the guest: a regular file inside the recipe's folder. */
export function readRecipeFile(imagesDir: string, rel: string): Buffer {
  const path = join(imagesDir, rel);
  if (relative(imagesDir, path).startsWith('..')) throw new UsageError(`the image recipe names ${rel}, which is outside ${imagesDir}`);
  return readUserFile(path, { what: 'file of the image recipe', maxBytes: MAX_BYTES.recipeFile, fix: `fix "files" in ${join(imagesDir, 'recipe.json')}` });
}
