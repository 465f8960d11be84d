import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repositoryRoot } from './workspace-packages.ts';

/** Every link target in a markdown text: inline links and images, reference definitions, HTML href/src. */
export function markdownLinkTargets(text: string): string[] {
  // Code spans and fenced blocks are not links.
  const prose = text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
  const targets = [
    ...[...prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((match) => match[1]),
    ...[...prose.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$/gm)].map((match) => match[1]),
    ...[...prose.matchAll(/\s(?:href|src)\s*=\s*["']([^"']+)["']/gi)].map((match) => match[1]),
  ];
  return targets.filter((target): target is string => typeof target === 'string' && target !== '');
}

/** https://github.com/<owner>/<name>, from the root package.json's `repository.url`. */
export function repositoryWebUrl(root = repositoryRoot): string {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    repository?: { url?: string };
  };
  const url = manifest.repository?.url ?? '';
  const match = /github\.com[/:]([^/]+\/[^/.]+)(?:\.git)?$/.exec(url);
  if (!match) throw new Error(`the root package.json's repository.url is not a GitHub URL: ${url}`);
  return `https://github.com/${match[1]}`;
}

/**
 * The repository path a link names, when it points into this repository's default branch on GitHub
 * (`…/blob/main/<path>` or `…/tree/main/<path>`); undefined for any other link.
 */
export function repositoryPathOfLink(target: string, webUrl = repositoryWebUrl()): string | undefined {
  const prefix = new RegExp(`^${webUrl.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}/(?:blob|tree)/main/([^#?]*)`);
  const path = prefix.exec(target)?.[1];
  return path === undefined ? undefined : decodeURIComponent(path).replace(/\/$/, '');
}

/**
 * Links in a README published to npm that will not work there: npmjs.com shows the README without
 * the repository around it, so a relative link (`../core/README.md`, `./docs/x.md`) leads nowhere.
 * Allowed: http(s) and mailto URLs, and anchors in the page (`#options`). A link into this repository
 * on GitHub must name a file or folder that exists. One line per broken link.
 */
export function findBrokenPublishedLinks(readme: string, root = repositoryRoot): string[] {
  const webUrl = repositoryWebUrl(root);
  const problems: string[] = [];
  for (const target of markdownLinkTargets(readme)) {
    if (target.startsWith('#')) continue;
    if (!/^(https?:|mailto:)/i.test(target)) {
      problems.push(
        `${target} is relative: on npmjs.com it leads nowhere; link ${webUrl}/blob/main/… instead`,
      );
      continue;
    }
    const path = repositoryPathOfLink(target, webUrl);
    if (path !== undefined && !existsSync(join(root, path))) {
      problems.push(`${target} names ${path}, which is not in the repository`);
    }
  }
  return problems;
}
