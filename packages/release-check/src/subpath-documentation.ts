/**
 * A package's `./internal` and `./testing` subpaths are published (our own packages import them),
 * so npm users can see them: the README must say they are not covered by semver, or a user who
 * finds one has no reason to think a minor release may change it.
 */

/** The README's sections (text under one heading), without fenced code, where a `#` is no heading. */
function sections(readme: string): string[] {
  const prose = readme.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  return prose.split(/^#{1,6}\s.*$/m);
}

/**
 * One line per subpath the README does not document as outside semver: documented means some
 * section names `<package>/<subpath>` and says "not covered by semver" or "neither is covered by
 * semver" (the words the READMEs use; a section may list several subpaths under one such sentence).
 */
export function findUndocumentedSubpaths(
  packageName: string,
  exports: Record<string, unknown>,
  readme: string,
): string[] {
  const subpaths = Object.keys(exports).filter((key) => key !== '.' && key !== './package.json');
  const saysOutsideSemver = sections(readme).filter((section) =>
    /\b(?:not|neither\s+(?:is|are))\s+covered\s+by\s+semver\b/i.test(section),
  );
  return subpaths
    .map((subpath) => `${packageName}/${subpath.slice(2)}`)
    .filter((name) => !saysOutsideSemver.some((section) => section.includes(name)))
    .map(
      (name) =>
        `the README does not say that ${name} is not covered by semver (name it in a section that does)`,
    );
}
