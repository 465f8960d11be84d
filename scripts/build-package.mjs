// Builds one published package (run from its folder): type declarations from tsc, and the
// JavaScript as a few bundled ES modules from esbuild instead of tsc's one file per source module.
//
// Why bundle (issue 11): a cold process pays per module it loads — resolving, reading and
// compiling each file. tsc's output made `import('@keyless/core')` load ~25 files and a connector
// with core ~45; their loading was the whole gap between keyless's cold start and the raw
// libraries'. esbuild bundles each package into as few files as its entry points allow: one file
// for a package with one entry point; for several (`.`, `./internal`, `./testing`), one
// implementation module they all re-export from (so they share one copy of the module state: one
// token cache per process). An `import()` of our own code (core's token backends) stays lazy —
// its code runs at the first `import()` — inside that same file (see below for why not a chunk).
//
// Dependencies stay external (`packages: 'external'`): another keyless package, a client library
// or an Azure SDK package is imported from node_modules as before, one copy per process.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const packageFolder = process.cwd();
const manifest = JSON.parse(readFileSync(join(packageFolder, 'package.json'), 'utf8'));
const requireHere = createRequire(join(packageFolder, 'package.json'));

/** `{ out: 'internal', in: 'src/internal.ts' }` for every subpath export with a source condition. */
function entryPoints() {
  const entries = [];
  for (const [subpath, conditions] of Object.entries(manifest.exports ?? {})) {
    if (typeof conditions !== 'object' || !conditions['@keyless/source']) continue;
    const built = conditions.import ?? conditions.default;
    const out = /^\.\/dist\/(.+)\.js$/.exec(built)?.[1];
    if (!out) throw new Error(`exports["${subpath}"]: expected ./dist/<name>.js, found ${built}`);
    entries.push({ out, in: conditions['@keyless/source'] });
  }
  if (entries.length === 0) throw new Error(`${manifest.name}: no export has a "@keyless/source" condition`);
  return entries;
}

// A clean folder every time (nothing a renamed or deleted module left behind gets published),
// built beside dist and swapped in at the end: another process reading dist meanwhile (a test, a
// `pnpm pack`, a sibling package's type check) sees the old build or the new one, never an empty
// or half-written folder. A sibling of dist, so source map paths (`../src/…`) stay right.
const staging = `.dist-staging-${process.pid}`;
const stagingFolder = join(packageFolder, staging);
rmSync(stagingFolder, { recursive: true, force: true });
// A failed build leaves no staging folder behind (after the swap there is none to remove).
process.on('exit', () => rmSync(stagingFolder, { recursive: true, force: true }));

// Declarations (and the type check) from tsc; tsc writes no JavaScript here.
const tsc = spawnSync(
  process.execPath,
  [
    requireHere.resolve('typescript/bin/tsc'),
    '-p',
    'tsconfig.build.json',
    '--emitDeclarationOnly',
    '--outDir',
    staging,
  ],
  { stdio: 'inherit' },
);
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

// esbuild is the repository's build tool (root devDependency), resolved from here.
const esbuild = await import(createRequire(import.meta.url).resolve('esbuild'));
const entries = entryPoints();
const common = {
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node22.15',
  packages: 'external',
  // Bundling renames a function or class whose name collides with another module's; keepNames
  // keeps `.name` true (error classes and `instanceof`-free checks read it).
  keepNames: true,
  logLevel: 'warning',
};

if (entries.length === 1) {
  await esbuild.build({
    ...common,
    entryPoints: entries,
    outdir: staging,
    splitting: false,
    sourcemap: 'linked',
    sourcesContent: true,
  });
} else {
  // Several entry points (`.`, `./internal`, `./testing`) share module state, so their code must be
  // one copy. Left to itself, code splitting cuts that copy into a chunk per combination of entry
  // points and one per `import()`, and each file a process loads costs it about a third of a
  // millisecond of CPU whatever its size (Node 24: a chain of 7 one-line modules took 3.7 ms, one
  // took 1.7 ms). Instead: one implementation module with every entry point's code
  // (dist/chunks/implementation.js), and per entry point a file of one line that re-exports its
  // names from it. Without splitting, esbuild keeps each `import()` of our own code lazy inside that
  // file (the module is wrapped and runs at the first `import()`, so a token backend's library is
  // still loaded only when the first token is asked for) but no longer a file of its own: core's
  // msal backend had come as 4 files (the backend and 3 chunks it shared with the other backends),
  // 7 files from import to first token where this loads 2. Measured (15 interleaved processes,
  // import + createTokenProvider + the backend's library): msal 33.9 ms split, 29.9 ms like this,
  // raw @azure/msal-node 28.1 ms; azure-identity 88.7 / 82.9 / 84.4 ms.
  const { metafile } = await esbuild.build({
    ...common,
    entryPoints: entries,
    outdir: staging,
    splitting: true,
    write: false,
    metafile: true,
  });
  const exportsOf = (out) => metafile.outputs[`${staging}/${out}.js`]?.exports ?? [];
  const implementation = 'keyless:implementation';
  await esbuild.build({
    ...common,
    entryPoints: [{ in: implementation, out: 'chunks/implementation' }],
    outdir: staging,
    splitting: false,
    sourcemap: 'linked',
    sourcesContent: true,
    plugins: [
      {
        name: 'keyless-implementation',
        setup(build) {
          build.onResolve({ filter: /^keyless:implementation$/ }, () => ({
            path: implementation,
            namespace: 'keyless',
          }));
          build.onLoad({ filter: /.*/, namespace: 'keyless' }, () => ({
            contents: entries.map((entry) => `export * from ${JSON.stringify(entry.in)};`).join('\n'),
            resolveDir: packageFolder,
            loader: 'ts',
          }));
        },
      },
    ],
  });
  for (const entry of entries) {
    const names = exportsOf(entry.out);
    const depth = entry.out.split('/').length - 1;
    const from = `${depth === 0 ? './' : '../'.repeat(depth)}chunks/implementation.js`;
    writeFileSync(
      join(stagingFolder, `${entry.out}.js`),
      `export { ${names.join(', ')} } from ${JSON.stringify(from)};\n`,
    );
  }
}

const distFolder = join(packageFolder, 'dist');
const previous = join(packageFolder, `.dist-previous-${process.pid}`);
if (existsSync(distFolder)) renameSync(distFolder, previous);
renameSync(stagingFolder, distFolder);
rmSync(previous, { recursive: true, force: true });
