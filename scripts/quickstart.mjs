#!/usr/bin/env node
// The README's two commands land here: `npm run demo` and `npm test`.
//
// A fresh machine has only an end-of-life Node and npm, so this file must run on any Node >= 18
// with no dependencies. It installs the pinned Node 24 and pnpm from the npm registry into
// tools/toolchain, puts them first on PATH, installs the workspace, and hands over to pnpm/turbo.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installDebianPackages } from './debian-packages.mjs';
import { toolchainEnvironment } from './user-environment.mjs';

const repositoryRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const toolchainFolder = join(repositoryRoot, 'tools', 'toolchain');
const toolchainBin = join(toolchainFolder, 'node_modules', '.bin');

const commands = {
  demo: ['pnpm', ['run', 'demo:start']],
  test: ['pnpm', ['run', 'test:all']],
};

// The canaries planted in the local stack: the seeded secret's marker, and any JWT (every token
// the identity endpoint mints is one). Test output that contains either fails the run.
const canaries = [
  { name: 'the canary secret', pattern: /keyless-canary-secret/ },
  { name: 'a token (JWT)', pattern: /eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{10,}/ },
];

function log(message) {
  process.stderr.write(`[keyless] ${message}\n`);
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', ...options });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

function runOrExit(command, args, options) {
  const status = run(command, args, options);
  if (status !== 0) {
    log(`\`${command} ${args.join(' ')}\` failed with exit code ${status}`);
    process.exit(status);
  }
}

function pinnedVersion(name) {
  const manifest = JSON.parse(readFileSync(join(toolchainFolder, 'package.json'), 'utf8'));
  return manifest.dependencies[name];
}

function installedNodeVersion() {
  const nodeBinary = join(toolchainBin, 'node');
  if (!existsSync(nodeBinary)) return undefined;
  const result = spawnSync(nodeBinary, ['--version'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim().replace(/^v/, '') : undefined;
}

function installedPnpmVersion() {
  const manifestPath = join(toolchainFolder, 'node_modules', 'pnpm', 'package.json');
  if (!existsSync(manifestPath)) return undefined;
  return JSON.parse(readFileSync(manifestPath, 'utf8')).version;
}

function ensureToolchain(environment) {
  const wantedNode = pinnedVersion('node');
  const wantedPnpm = pinnedVersion('pnpm');
  if (installedNodeVersion() === wantedNode && installedPnpmVersion() === wantedPnpm) return;
  log(`installing Node ${wantedNode} and pnpm ${wantedPnpm} from the npm registry into tools/toolchain`);
  // `node` ships the real binary in a platform package; its preinstall script links it.
  // The user's PATH (not the toolchain's: it is not there yet, or it is broken), with npm's global
  // config named, in case the toolchain's Node is on the user's PATH and would run npm.
  runOrExit('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error', '--foreground-scripts=false'], {
    cwd: toolchainFolder,
    env: { ...environment, PATH: process.env.PATH ?? '' },
  });
  const nodeVersion = installedNodeVersion();
  if (nodeVersion !== wantedNode) {
    log(`expected Node ${wantedNode} in tools/toolchain but found ${nodeVersion ?? 'nothing'}`);
    process.exit(1);
  }
}

// The local stack starts private PostgreSQL and Redis instances from the system's binaries.
const systemPackages = [
  { name: 'postgresql', present: () => postgresBinaryFolders().length > 0 },
  { name: 'redis-server', present: () => onPath('redis-server') },
  // The demo's browser test drives Debian's Chromium through playwright-core (no browser downloads).
  { name: 'chromium', present: () => existsSync('/usr/bin/chromium'), tasks: ['test'] },
];

function postgresBinaryFolders() {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return [];
  return readdirSync(root).filter((version) => existsSync(join(root, version, 'bin', 'initdb')));
}

function onPath(program) {
  return (process.env.PATH ?? '')
    .split(delimiter)
    .some((folder) => folder && existsSync(join(folder, program)));
}

function ensureSystemPackages(task) {
  const missing = systemPackages
    .filter((item) => (item.tasks ?? ['demo', 'test']).includes(task) && !item.present())
    .map((item) => item.name);
  if (missing.length === 0) return;
  log(`installing Debian packages: ${missing.join(' ')}`);
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!asRoot && !onPath('sudo')) {
    log(
      `missing ${missing.join(', ')}; install them as root: apt-get update && apt-get install -y ${missing.join(' ')}`,
    );
    process.exit(1);
  }
  const status = installDebianPackages(missing, { asRoot, log });
  if (status !== 0) {
    log(`installing ${missing.join(' ')} with apt-get failed with exit code ${status}`);
    process.exit(status);
  }
}

/** Runs the tests with their output passed through and scanned; a canary in it fails the run. */
function runWatchingForCanaries(program, args, options) {
  const child = spawn(program, args, { ...options, stdio: ['inherit', 'pipe', 'pipe'] });
  const found = new Set();
  let tail = '';
  const scan = (chunk, stream) => {
    stream.write(chunk);
    // Keep a little of the previous chunk so a canary split across two chunks is still seen.
    const text = tail + chunk.toString('utf8');
    for (const canary of canaries) if (canary.pattern.test(text)) found.add(canary.name);
    tail = text.slice(-512);
  };
  child.stdout.on('data', (chunk) => scan(chunk, process.stdout));
  child.stderr.on('data', (chunk) => scan(chunk, process.stderr));
  child.on('close', (code) => {
    if (found.size > 0) {
      log(`canary check failed: the test output contains ${[...found].join(' and ')}`);
      process.exit(1);
    }
    process.exit(code ?? 1);
  });
}

function main() {
  const task = process.argv[2];
  const command = commands[task];
  if (!command) {
    log(`usage: node scripts/quickstart.mjs <${Object.keys(commands).join('|')}>`);
    process.exit(2);
  }
  // Asked before PATH switches to the toolchain: where the user's npm reads its global config.
  const environment = toolchainEnvironment(process.env, { toolchainBin });
  ensureToolchain(environment);
  ensureSystemPackages(task);
  runOrExit('pnpm', ['install', '--frozen-lockfile', '--reporter=append-only'], {
    cwd: repositoryRoot,
    env: environment,
  });
  const [program, args] = command;
  if (task !== 'test') process.exit(run(program, args, { cwd: repositoryRoot, env: environment }));
  runWatchingForCanaries(program, args, { cwd: repositoryRoot, env: environment });
}

main();
