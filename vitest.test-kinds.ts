/**
 * Which test files start the local stack ("stack" tests) and which do not ("fast" tests), read from
 * what each file calls, so no file has to be renamed or tagged. `pnpm test:fast` and
 * `pnpm test:stack` run the two halves; `node vitest.test-kinds.ts` (`pnpm test:kinds`) prints every
 * package's files with their kind and, for a stack test, the chain of calls that reaches the stack.
 *
 * A file is a stack test when a statement in it refers to a function that starts a service of the
 * local stack: one of `@keyless/local-azure`'s public `start…` exports (`startLocalAzure`,
 * `startIdentityEndpoint`, `startPostgres`, …), or any function that calls one, followed through
 * relative imports (a package's own helpers such as `test/support.ts`), the `@keyless/*` packages'
 * sources (`againstTheStack…`, `describeConnectorConformance`, …) and re-exports. The reading is
 * static: a stack started in a child process (a script, a bin, a child vitest) or reached through a
 * dynamic `import()` is not seen, so those places are declared below, each with why.
 */
import { existsSync, globSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export type TestKind = 'fast' | 'stack';

export interface ClassifiedTestFile {
  /** Relative to the package folder, e.g. `test/conformance.test.ts`. */
  file: string;
  kind: TestKind;
  /** For a stack test: the names from the file down to the starter, e.g. `startTestStack → startLocalAzure`. */
  reason?: string;
}

/** The export condition under which our packages' exports point at their source (see vitest.shared.ts). */
export const sourceCondition = '@keyless/source';

/** What vitest runs in every package (`include` in vitest.shared.ts). */
export const testFilePattern = 'test/**/*.test.ts';

const repositoryRoot = dirname(fileURLToPath(import.meta.url));
const stackPackageSource = join(repositoryRoot, 'packages', 'local-azure', 'src');

/** Functions that start the stack in a child process they run (module relative to the root). */
const childProcessStarters = [
  {
    module: 'packages/release-check/src/smoke-run.ts',
    name: 'runSmoke',
    why: 'its child, consumer/smoke.mjs, starts the stack from the installed @keyless/local-azure',
  },
];

/** Test files that spawn a child process which starts the stack (paths relative to the root). */
const childProcessStackFiles: Record<string, string> = {
  'packages/local-azure/test/keyless-local-cli.test.ts': 'runs `keyless-local up` in a child process',
  'packages/local-azure/test/processes-exit-cleanup.test.ts':
    'its children (fixtures/abandoned-servers.mjs, fixtures/redis-awaits-only.mjs) start PostgreSQL, Redis and a Redis Cluster',
  'packages/testing/test/conformance-wiring.test.ts':
    'a child vitest runs a conformance fixture whose against-the-stack group starts the stack',
  'apps/demo/test/shutdown.test.ts': 'runs dist/main.js, which starts the local stack in local mode',
};

interface ImportBinding {
  /** Absolute path of a source file, or undefined for a module outside the workspace. */
  module: string | undefined;
  /** The imported name, `*` for a namespace import. */
  name: string;
}

type ExportTarget = { kind: 'local'; name: string } | { kind: 're-export'; module: string; name: string };

interface ModuleFacts {
  path: string;
  source: ts.SourceFile;
  imports: Map<string, ImportBinding>;
  declarations: Map<string, ts.Node>;
  exports: Map<string, ExportTarget>;
  starExports: string[];
}

/** Every workspace package's name and folder, to resolve `@keyless/*` to its source. */
function workspaceFolders(): Map<string, string> {
  const folders = new Map<string, string>();
  for (const group of ['packages', 'apps']) {
    for (const entry of readdirSync(join(repositoryRoot, group), { withFileTypes: true })) {
      const manifestPath = join(repositoryRoot, group, entry.name, 'package.json');
      if (!entry.isDirectory() || !existsSync(manifestPath)) continue;
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { name: string };
      folders.set(manifest.name, join(repositoryRoot, group, entry.name));
    }
  }
  return folders;
}

function sourceFileFor(candidate: string): string | undefined {
  const tries = [
    candidate,
    candidate.replace(/\.js$/, '.ts'),
    `${candidate}.ts`,
    join(candidate, 'index.ts'),
  ];
  return tries.find((each) => /\.ts$/.test(each) && existsSync(each));
}

/**
 * The source file a `@keyless/…` specifier resolves to under the source condition,
 * read from the package's own exports; undefined for anything else.
 */
export function workspaceSourceOf(specifier: string, folders = workspaceFolders()): string | undefined {
  const match = /^(@keyless\/[^/]+)(\/.*)?$/.exec(specifier);
  const folder = match?.[1] === undefined ? undefined : folders.get(match[1]);
  if (folder === undefined) return undefined;
  const manifest = JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')) as {
    exports?: Record<string, unknown>;
  };
  const entry = manifest.exports?.[`.${match?.[2] ?? ''}`] as Record<string, string> | undefined;
  const source = entry?.[sourceCondition];
  return source === undefined ? undefined : sourceFileFor(join(folder, source));
}

export class TestKindReader {
  readonly #folders = workspaceFolders();
  readonly #modules = new Map<string, ModuleFacts>();
  readonly #verdicts = new Map<string, string[] | undefined>();
  readonly #inProgress = new Set<string>();
  readonly #starters: Set<string>;

  constructor() {
    // The stack's services are what local-azure's root exports as start…: read them, so a new
    // service (or a renamed one) is classified without editing this file.
    const index = this.#facts(join(stackPackageSource, 'index.ts'));
    this.#starters = new Set([...index.exports.keys()].filter((name) => /^start[A-Z]/.test(name)));
    if (!this.#starters.has('startLocalAzure')) {
      throw new Error(
        'vitest.test-kinds.ts: @keyless/local-azure no longer exports startLocalAzure; update it',
      );
    }
    // A declaration that no longer matches the code must fail loudly, not classify a stack test as fast.
    for (const starter of childProcessStarters) {
      const path = join(repositoryRoot, starter.module);
      if (!existsSync(path) || !this.#facts(path).declarations.has(starter.name)) {
        throw new Error(
          `vitest.test-kinds.ts: ${starter.module} no longer declares ${starter.name}; update it`,
        );
      }
    }
    for (const file of Object.keys(childProcessStackFiles)) {
      if (!existsSync(join(repositoryRoot, file))) {
        throw new Error(`vitest.test-kinds.ts: ${file} is gone; update childProcessStackFiles`);
      }
    }
  }

  /** The public `start…` exports of local-azure that count as starting the stack. */
  get starters(): readonly string[] {
    return [...this.#starters].sort();
  }

  classify(packageFolder: string): ClassifiedTestFile[] {
    return globSync(testFilePattern, { cwd: packageFolder })
      .sort()
      .map((file) => {
        const declared = childProcessStackFiles[relative(repositoryRoot, resolve(packageFolder, file))];
        if (declared !== undefined) return { file, kind: 'stack', reason: `declared: ${declared}` };
        const chain = this.#fileReachesStack(resolve(packageFolder, file));
        return chain ? { file, kind: 'stack', reason: chain.join(' → ') } : { file, kind: 'fast' };
      });
  }

  #resolve(specifier: string, fromFile: string): string | undefined {
    if (specifier.startsWith('.')) return sourceFileFor(resolve(dirname(fromFile), specifier));
    return workspaceSourceOf(specifier, this.#folders);
  }

  #facts(path: string): ModuleFacts {
    const known = this.#modules.get(path);
    if (known) return known;
    const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
    const facts: ModuleFacts = {
      path,
      source,
      imports: new Map(),
      declarations: new Map(),
      exports: new Map(),
      starExports: [],
    };
    for (const statement of source.statements) this.#readStatement(statement, facts);
    this.#modules.set(path, facts);
    return facts;
  }

  #readStatement(statement: ts.Statement, facts: ModuleFacts): void {
    const exported =
      ts.canHaveModifiers(statement) &&
      (ts.getModifiers(statement) ?? []).some((modifier) => modifier.kind === ts.SyntaxKind.ExportKeyword);
    if (ts.isImportDeclaration(statement) && ts.isStringLiteral(statement.moduleSpecifier)) {
      const clause = statement.importClause;
      if (!clause || clause.isTypeOnly) return;
      const module = this.#resolve(statement.moduleSpecifier.text, facts.path);
      if (clause.name) facts.imports.set(clause.name.text, { module, name: 'default' });
      const bindings = clause.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings))
        facts.imports.set(bindings.name.text, { module, name: '*' });
      if (bindings && ts.isNamedImports(bindings)) {
        for (const element of bindings.elements) {
          if (element.isTypeOnly) continue;
          const name = (element.propertyName ?? element.name).text;
          facts.imports.set(element.name.text, { module, name });
        }
      }
    } else if (ts.isExportDeclaration(statement)) {
      if (statement.isTypeOnly) return;
      const specifier = statement.moduleSpecifier;
      const module =
        specifier && ts.isStringLiteral(specifier) ? this.#resolve(specifier.text, facts.path) : undefined;
      const clause = statement.exportClause;
      if (!clause) {
        if (module) facts.starExports.push(module);
        return;
      }
      if (!ts.isNamedExports(clause)) return;
      for (const element of clause.elements) {
        if (element.isTypeOnly) continue;
        const name = (element.propertyName ?? element.name).text;
        if (specifier === undefined) facts.exports.set(element.name.text, { kind: 'local', name });
        else if (module) facts.exports.set(element.name.text, { kind: 're-export', module, name });
      }
    } else if (ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) {
      if (!statement.name) return;
      facts.declarations.set(statement.name.text, statement);
      if (exported) facts.exports.set(statement.name.text, { kind: 'local', name: statement.name.text });
    } else if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) {
        if (!ts.isIdentifier(declaration.name)) continue;
        facts.declarations.set(declaration.name.text, declaration);
        if (exported)
          facts.exports.set(declaration.name.text, { kind: 'local', name: declaration.name.text });
      }
    }
  }

  /** The chain of names by which a test file's statements reach a starter, or undefined. */
  #fileReachesStack(path: string): string[] | undefined {
    const facts = this.#facts(path);
    for (const statement of facts.source.statements) {
      if (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) continue;
      const chain = this.#nodeReachesStack(statement, facts);
      if (chain) return chain;
    }
    return undefined;
  }

  #nodeReachesStack(node: ts.Node, facts: ModuleFacts): string[] | undefined {
    let found: string[] | undefined;
    const visit = (child: ts.Node): void => {
      if (found || ts.isTypeNode(child)) return;
      if (ts.isPropertyAccessExpression(child) && ts.isIdentifier(child.expression)) {
        // namespace.member: only a namespace import can lead somewhere.
        const binding = facts.imports.get(child.expression.text);
        if (binding?.name === '*' && binding.module) {
          found = this.#exportReachesStack(binding.module, child.name.text);
          return;
        }
        visit(child.expression);
        return;
      }
      if (ts.isIdentifier(child)) {
        found = this.#localReachesStack(facts, child.text);
        return;
      }
      ts.forEachChild(child, visit);
    };
    ts.forEachChild(node, visit);
    return found;
  }

  #localReachesStack(facts: ModuleFacts, name: string): string[] | undefined {
    const binding = facts.imports.get(name);
    if (binding) {
      return binding.module && binding.name !== '*'
        ? this.#exportReachesStack(binding.module, binding.name)
        : undefined;
    }
    const declaration = facts.declarations.get(name);
    if (!declaration) return undefined;
    if (facts.path.startsWith(stackPackageSource) && this.#starters.has(name)) return [name];
    const childStarter = childProcessStarters.find(
      (each) => each.name === name && facts.path === join(repositoryRoot, each.module),
    );
    if (childStarter) return [`${name} (declared: ${childStarter.why})`];
    const key = `${facts.path}#${name}`;
    if (this.#verdicts.has(key)) return this.#verdicts.get(key);
    if (this.#inProgress.has(key)) return undefined; // recursion: the other path decides
    this.#inProgress.add(key);
    const chain = this.#nodeReachesStack(declaration, facts);
    this.#inProgress.delete(key);
    const verdict = chain === undefined ? undefined : chain[0] === name ? chain : [name, ...chain];
    this.#verdicts.set(key, verdict);
    return verdict;
  }

  #exportReachesStack(module: string, name: string, seen = new Set<string>()): string[] | undefined {
    if (seen.has(module)) return undefined;
    seen.add(module);
    const facts = this.#facts(module);
    const target = facts.exports.get(name);
    if (target?.kind === 'local') return this.#localReachesStack(facts, target.name);
    if (target?.kind === 're-export') return this.#exportReachesStack(target.module, target.name, seen);
    for (const star of facts.starExports) {
      const chain = this.#exportReachesStack(star, name, seen);
      if (chain) return chain;
    }
    return undefined;
  }
}

/** Every package's test files by kind: `node vitest.test-kinds.ts` (`pnpm test:kinds`). */
function printEveryPackage(): void {
  const reader = new TestKindReader();
  const lines = [`starters (local-azure's start… exports): ${reader.starters.join(', ')}`];
  for (const folder of workspaceFolders().values()) {
    const files = reader.classify(folder);
    if (files.length === 0) continue;
    const stack = files.filter((each) => each.kind === 'stack').length;
    lines.push('', `${relative(repositoryRoot, folder)}: ${files.length - stack} fast, ${stack} stack`);
    for (const each of files) {
      lines.push(`  ${each.kind.padEnd(5)}  ${each.file}${each.reason ? `  (${each.reason})` : ''}`);
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

if (import.meta.main) printEveryPackage();
