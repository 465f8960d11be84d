import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, matchesGlob, normalize } from 'node:path';

const sourceMappingComment = /\/\/# sourceMappingURL=(\S+)\s*$/;

/**
 * Source maps in a tarball must work without the repository: every `sourceMappingURL` names a file
 * that is in the tarball, and every source a map lists is either in the tarball or inlined in its
 * `sourcesContent`. Returns one line per broken reference.
 */
export async function findBrokenSourceMaps(folder: string, files: readonly string[]): Promise<string[]> {
  const present = new Set(files);
  const problems: string[] = [];
  for (const file of files) {
    if (/\.(m?js|d\.ts)$/.test(file)) {
      const text = await readFile(join(folder, file), 'utf8');
      const url = sourceMappingComment.exec(text)?.[1];
      if (url && !url.startsWith('data:')) {
        const target = normalize(join(dirname(file), url));
        if (!present.has(target)) problems.push(`${file} points at ${target}, which is not in the tarball`);
      }
    }
    if (file.endsWith('.map')) {
      const map = JSON.parse(await readFile(join(folder, file), 'utf8')) as {
        sourceRoot?: string;
        sources: string[];
        sourcesContent?: (string | null)[];
      };
      map.sources.forEach((source, index) => {
        const target = normalize(join(dirname(file), map.sourceRoot ?? '', source));
        if (!present.has(target) && typeof map.sourcesContent?.[index] !== 'string') {
          problems.push(`${file} needs ${target}, which is neither in the tarball nor inlined`);
        }
      });
    }
  }
  return problems;
}

/** Paths a published tarball must not contain: tests, TypeScript sources, build state. */
export function findUnwantedFiles(files: readonly string[]): string[] {
  const unwanted = [
    /(^|\/)(test|tests|__tests__|test-output|bench|bench-results|fixtures)\//,
    /\.(test|spec|bench)\.[cm]?[jt]s$/,
    /^src\//,
    /(?<!\.d)\.[cm]?ts$/,
    /\.tsbuildinfo$/,
    /(^|\/)(tsconfig[^/]*\.json|vitest\.config\.[cm]?[jt]s|typedoc\.json|\.env)$/,
  ];
  return files.filter((file) => unwanted.some((pattern) => pattern.test(file)));
}

/**
 * Build output whose source is gone: `tsc` never deletes a file it emitted earlier, so a renamed or
 * deleted module would otherwise be published from a stale dist folder. The bundler's chunks
 * (`dist/chunks/`, scripts/build-package.mjs) have no source file of their own; that build empties
 * dist first, so none of them can be stale.
 */
export function findStaleBuildOutput(packageFolder: string, files: readonly string[]): string[] {
  return files
    .filter(
      (file) => file.startsWith('dist/') && !file.startsWith('dist/chunks/') && /\.(js|d\.ts)$/.test(file),
    )
    .filter(
      (file) =>
        !existsSync(join(packageFolder, file.replace(/^dist\//, 'src/').replace(/(\.d)?\.ts$|\.js$/, '.ts'))),
    );
}

/** Files npm puts in every tarball whatever `files` says. https://docs.npmjs.com/cli/v11/configuring-npm/package-json#files */
const alwaysIncluded = /^(package\.json|readme(\.[^/]*)?|licen[cs]e(\.[^/]*)?)$/i;

function coveredBy(entry: string, file: string): boolean {
  const pattern = entry.replace(/^\.\//, '').replace(/\/$/, '');
  if (/[*?[\]{}]/.test(pattern)) return matchesGlob(file, pattern) || matchesGlob(file, `${pattern}/**`);
  return file === pattern || file.startsWith(`${pattern}/`);
}

/**
 * The tarball against the package's `files` list: every file in the tarball is one `files` lists
 * (or one npm always adds: package.json, README, LICENSE), and every entry of `files` that exists
 * in the package folder is in the tarball (CHANGELOG.md, say, exists only after the first release).
 * One line per problem.
 */
export function findFilesListMismatches(
  packageFolder: string,
  filesList: readonly string[],
  files: readonly string[],
): string[] {
  const problems: string[] = [];
  for (const file of files) {
    if (!alwaysIncluded.test(file) && !filesList.some((entry) => coveredBy(entry, file))) {
      problems.push(`${file} is in the tarball but not in "files"`);
    }
  }
  for (const entry of filesList) {
    const exists = /[*?[\]{}]/.test(entry) || existsSync(join(packageFolder, entry));
    if (exists && !files.some((file) => coveredBy(entry, file))) {
      problems.push(`"files" lists ${entry}, which the package has but the tarball does not`);
    }
  }
  return problems;
}
