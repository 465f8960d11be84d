import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { committedApiFolder, compareTrees, generateApiReference } from '../src/api-reference.ts';
import { markdownLinkTargets, repositoryPathOfLink } from '../src/readme-links.ts';
import { findPublishedPackages, repositoryRoot } from '../src/workspace-packages.ts';

const generatedFolder = join(inject('releaseCheckFolder'), 'api-reference');

/** Relative markdown link targets in `text`. */
function linkTargets(text: string): string[] {
  return [...text.matchAll(/\]\(([^)\s#]+)(?:#[^)]*)?\)/g)]
    .map((match) => match[1] ?? '')
    .filter((target) => !/^[a-z]+:/.test(target));
}

describe('the API reference (TypeDoc, markdown, from the doc comments)', () => {
  let generation: { exitCode: number; output: string };

  beforeAll(async () => {
    generation = await generateApiReference(generatedFolder);
  });

  it('generates with no TypeDoc warning (warnings are errors)', () => {
    expect(generation.output).not.toMatch(/\[warning\]|\[error\]/);
    expect(generation.exitCode, generation.output).toBe(0);
  });

  it('is committed as generated (run `pnpm docs:api` after changing a doc comment)', async () => {
    expect(generation.exitCode, 'TypeDoc failed (see the warnings test), so nothing to compare').toBe(0);
    const differences = await compareTrees(generatedFolder, committedApiFolder);
    expect(differences, 'docs/api is out of date: run `pnpm docs:api` and commit docs/api').toEqual([]);
  });

  it.each(findPublishedPackages())('is linked from the $name README', async (published) => {
    const readme = await readFile(join(published.folder, 'README.md'), 'utf8');
    const page = join(committedApiFolder, published.name, 'README.md');
    // Published READMEs link the repository on GitHub (relative links do not work on npmjs.com).
    const targets = markdownLinkTargets(readme).map((target) => {
      const path = repositoryPathOfLink(target);
      return path === undefined
        ? resolve(published.folder, target.replace(/#.*$/, ''))
        : join(repositoryRoot, path);
    });
    expect(targets, `${published.relativeFolder}/README.md links ${page}`).toContain(page);
    expect(existsSync(page)).toBe(true);
  });

  it('is linked from the root README', async () => {
    const readme = await readFile(join(repositoryRoot, 'README.md'), 'utf8');
    const targets = linkTargets(readme).map((target) => resolve(repositoryRoot, target));
    expect(targets).toContain(join(committedApiFolder, 'README.md'));
  });

  it('has no broken relative link between its pages', async () => {
    const pages = (await readdir(committedApiFolder, { recursive: true })).filter((path) =>
      path.endsWith('.md'),
    );
    const broken: string[] = [];
    for (const page of pages) {
      const text = await readFile(join(committedApiFolder, page), 'utf8');
      for (const target of linkTargets(text)) {
        if (!existsSync(resolve(dirname(join(committedApiFolder, page)), target)))
          broken.push(`${page} → ${target}`);
      }
    }
    expect(pages.length).toBeGreaterThan(0);
    expect(broken).toEqual([]);
  });
});
