import { join } from 'node:path';
import ts from 'typescript';

export interface PublicExport {
  packageName: string;
  name: string;
  /** `value`: must be called, constructed or read; `type`: must appear in a type position. */
  kind: 'value' | 'type';
}

export interface ConsumerCoverage {
  exports: PublicExport[];
  /** Public exports the consumer never uses the way their kind requires. */
  unused: PublicExport[];
  /**
   * Ways of importing that would hide what is used (namespace or default imports), and any use of a
   * path below a package's root (`./internal`, `./testing`, deep paths).
   */
  problems: string[];
}

/** The compiler options the user's `tsc` would use: the consumer's tsconfig, in the consumer's project. */
function readConsumerConfig(projectFolder: string): ts.ParsedCommandLine {
  const configPath = join(projectFolder, 'tsconfig.json');
  const config = ts.readConfigFile(configPath, ts.sys.readFile);
  if (config.error) throw new Error(ts.flattenDiagnosticMessageText(config.error.messageText, '\n'));
  return ts.parseJsonConfigFileContent(config.config, ts.sys, projectFolder);
}

/** Where the installed package's `types` condition leads, as TypeScript resolves it for the consumer. */
function resolveEntry(packageName: string, fromFile: string, options: ts.CompilerOptions): string {
  const resolution = ts.resolveModuleName(packageName, fromFile, options, ts.sys);
  const file = resolution.resolvedModule?.resolvedFileName;
  if (!file) throw new Error(`TypeScript cannot resolve ${packageName} from ${fromFile}`);
  return file;
}

function isTypeOnlyExport(symbol: ts.Symbol): boolean {
  return (symbol.declarations ?? []).some(
    (declaration) =>
      ts.isExportSpecifier(declaration) && (declaration.isTypeOnly || declaration.parent.parent.isTypeOnly),
  );
}

/** Every name a package's entry declaration file exports, with whether it exists at run time. */
function listExports(checker: ts.TypeChecker, packageName: string, entry: ts.SourceFile): PublicExport[] {
  const moduleSymbol = checker.getSymbolAtLocation(entry);
  if (!moduleSymbol) throw new Error(`${entry.fileName} is not a module`);
  return checker.getExportsOfModule(moduleSymbol).map((symbol) => {
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    const isValue = !isTypeOnlyExport(symbol) && (target.flags & ts.SymbolFlags.Value) !== 0;
    return { packageName, name: symbol.getName(), kind: isValue ? 'value' : 'type' };
  });
}

/**
 * A reference in a type annotation, `typeof`, `implements` or a type argument is a type use; a
 * class in `extends` is a value use (the class must exist at run time), as is every expression.
 */
function isTypePosition(node: ts.Node): boolean {
  for (let current: ts.Node | undefined = node.parent; current; current = current.parent) {
    if (ts.isExpressionWithTypeArguments(current)) {
      const clause = current.parent;
      return !(
        ts.isHeritageClause(clause) &&
        clause.token === ts.SyntaxKind.ExtendsKeyword &&
        ts.isClassLike(clause.parent)
      );
    }
    if (ts.isTypeNode(current)) return true;
  }
  return false;
}

/**
 * `@keyless/<package>/internal` (helpers keyless's own packages share) and `/testing` (test seams)
 * are not covered by semver: an application never reaches into them, nor into any other path
 * below a package's root. Every way a module is named counts — import and export declarations,
 * `import()` and `import('…')` types — so a subpath cannot slip in by another syntax.
 */
function findSubpathUses(
  consumer: ts.SourceFile,
  packageOf: (specifier: string) => string | undefined,
): string[] {
  const problems: string[] = [];
  const check = (literal: ts.Node | undefined): void => {
    if (!literal || !ts.isStringLiteralLike(literal)) return;
    const specifier = literal.text;
    const packageName = packageOf(specifier);
    if (!packageName || specifier === packageName) return;
    const subpath = specifier.slice(packageName.length + 1);
    problems.push(
      subpath === 'internal' || subpath === 'testing'
        ? `${specifier} is used: ./${subpath} is not for applications (not covered by semver); use the root export`
        : `import from a deep path: ${specifier}`,
    );
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) check(node.moduleSpecifier);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword)
      check(node.arguments[0]);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) check(node.argument.literal);
    ts.forEachChild(node, visit);
  };
  visit(consumer);
  return problems;
}

/**
 * Checks that `consumerFile` uses every public export of `packageNames`, reading the exports from
 * the declaration files installed in `projectFolder` (what users get), not from the workspace.
 */
export function checkConsumerCoverage(
  projectFolder: string,
  consumerFile: string,
  packageNames: readonly string[],
): ConsumerCoverage {
  const config = readConsumerConfig(projectFolder);
  const entries = packageNames.map((name) => ({
    name,
    file: resolveEntry(name, consumerFile, config.options),
  }));
  // The entry files are roots too, so a package the consumer never imports is still listed.
  const program = ts.createProgram([consumerFile, ...entries.map((entry) => entry.file)], config.options);
  const checker = program.getTypeChecker();
  const problems: string[] = [];

  const exports: PublicExport[] = [];
  for (const entry of entries) {
    if (!entry.file.startsWith(join(projectFolder, 'node_modules'))) {
      problems.push(`${entry.name} resolved to ${entry.file}, outside the consumer project's node_modules`);
    }
    const source = program.getSourceFile(entry.file);
    if (!source) throw new Error(`${entry.file} is not in the consumer program`);
    exports.push(...listExports(checker, entry.name, source));
  }

  const consumer = program.getSourceFile(consumerFile);
  if (!consumer) throw new Error(`${consumerFile} is not in the consumer program`);
  const packageOf = (specifier: string) =>
    packageNames.find((name) => specifier === name || specifier.startsWith(`${name}/`));
  problems.push(...findSubpathUses(consumer, packageOf));
  const importedAs = new Map<ts.Symbol, { packageName: string; name: string }>();
  for (const statement of consumer.statements) {
    if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier)) continue;
    const specifier = statement.moduleSpecifier.text;
    const packageName = packageOf(specifier);
    // A subpath is reported above; its names are not the root's, so they count for nothing here.
    if (!packageName || specifier !== packageName) continue;
    const clause = statement.importClause;
    if (clause?.name) problems.push(`default import from ${specifier}`);
    const bindings = clause?.namedBindings;
    if (bindings && ts.isNamespaceImport(bindings)) problems.push(`namespace import from ${specifier}`);
    if (!bindings || !ts.isNamedImports(bindings)) continue;
    for (const element of bindings.elements) {
      const local = checker.getSymbolAtLocation(element.name);
      if (local) importedAs.set(local, { packageName, name: (element.propertyName ?? element.name).text });
    }
  }

  const valueUses = new Set<string>();
  const typeUses = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) return;
    if (ts.isIdentifier(node)) {
      const symbol = ts.isShorthandPropertyAssignment(node.parent)
        ? checker.getShorthandAssignmentValueSymbol(node.parent)
        : checker.getSymbolAtLocation(node);
      const imported = symbol ? importedAs.get(symbol) : undefined;
      if (imported) {
        const key = `${imported.packageName}:${imported.name}`;
        (isTypePosition(node) ? typeUses : valueUses).add(key);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(consumer);

  const unused = exports.filter((each) => {
    const key = `${each.packageName}:${each.name}`;
    return each.kind === 'value' ? !valueUses.has(key) : !valueUses.has(key) && !typeUses.has(key);
  });
  return { exports, unused, problems };
}
