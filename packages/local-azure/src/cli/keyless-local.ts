import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { type LocalAzureHost, localAzureHosts, startLocalAzure } from '../stack/local-azure-stack.js';
import { renderDotEnv, renderExportLines } from '../stack/stack-environment.js';
import {
  type LocalServiceName,
  localServiceNames,
  type StackProgressEvent,
} from '../stack/stack-progress.js';

const program = new Command()
  .name('keyless-local')
  .description(
    'The local Azure stack for keyless: managed identity, Key Vault, Blob, SQL, PostgreSQL and Redis',
  );

program
  .command('up')
  .description('start the stack (all services, or the ones named), print its environment, run until Ctrl-C')
  .argument('[services...]', `any of: ${localServiceNames.join(', ')}`, parseServices)
  .option('--state <folder>', 'state folder (CA, pid file)', '.keyless-local')
  // Not --env-file: Node itself claims that flag even after the script name.
  .option('--write-env <path>', 'where to write the environment as a .env file', '.env')
  .option('--no-seed', 'start empty: no sample container, secrets or users')
  .option(
    '--host <kind>',
    `the Azure host to emulate, i.e. how the app finds its identity: app-service (IDENTITY_ENDPOINT), imds (a VM: AZURE_POD_IDENTITY_AUTHORITY_HOST) or aks (workload identity: AZURE_AUTHORITY_HOST, AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE, with a local Entra endpoint and a rotated token file in the state folder)`,
    parseHost,
    'app-service',
  )
  .option(
    '--redis-cluster',
    'run Redis as a cluster (3 masters + 3 replicas, TLS only, like Azure Managed Redis with the OSS cluster policy): the environment has KEYLESS_REDIS_CLUSTER_NODES, the seed list, instead of KEYLESS_REDIS_HOST and its ports',
  )
  .action(
    async (
      services: LocalServiceName[] | undefined,
      options: {
        state: string;
        writeEnv: string;
        seed: boolean;
        host: LocalAzureHost;
        redisCluster?: boolean;
      },
    ) => {
      const stateFolder = resolve(options.state);
      mkdirSync(stateFolder, { recursive: true });
      const pidFile = join(stateFolder, 'keyless-local.pid');
      if (existsSync(pidFile) && isRunning(Number(readFileSync(pidFile, 'utf8')))) {
        fail(
          `keyless-local is already running (pid ${readFileSync(pidFile, 'utf8').trim()}); run \`keyless-local down\` first`,
        );
      }
      const stack = await startLocalAzure({
        stateFolder,
        seed: options.seed,
        host: options.host,
        ...(options.redisCluster ? { redis: { cluster: true } } : {}),
        onProgress: printProgress,
        ...(services && services.length > 0 ? { services } : {}),
      });
      writeFileSync(pidFile, String(process.pid));
      writeFileSync(resolve(options.writeEnv), renderDotEnv(stack.env));
      process.stdout.write(`${renderExportLines(stack.env)}\n`);
      process.stderr.write(
        `\nkeyless-local: ready. Environment written to ${options.writeEnv}. Ctrl-C (or \`keyless-local down\`) stops it.\n`,
      );
      let stopping = false;
      const shutDown = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        process.stderr.write(`\nkeyless-local: ${signal}, stopping…\n`);
        await stack.stop();
        rmSync(pidFile, { force: true });
        process.stderr.write('keyless-local: stopped.\n');
        process.exit(0);
      };
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void shutDown(signal));
      // The servers keep the event loop alive; nothing else to wait for.
    },
  );

program
  .command('down')
  .description('stop a running `keyless-local up`')
  .option('--state <folder>', 'state folder', '.keyless-local')
  .action(async (options: { state: string }) => {
    const pidFile = join(resolve(options.state), 'keyless-local.pid');
    if (!existsSync(pidFile)) {
      process.stderr.write('keyless-local: not running (no pid file).\n');
      return;
    }
    const pid = Number(readFileSync(pidFile, 'utf8'));
    if (!isRunning(pid)) {
      rmSync(pidFile, { force: true });
      process.stderr.write('keyless-local: not running (stale pid file removed).\n');
      return;
    }
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 30_000;
    while (isRunning(pid) && Date.now() < deadline) await new Promise((done) => setTimeout(done, 100));
    if (isRunning(pid)) fail(`keyless-local (pid ${pid}) did not stop within 30 s`);
    process.stderr.write('keyless-local: stopped.\n');
  });

function parseServices(value: string, previous: LocalServiceName[] = []): LocalServiceName[] {
  if (!(localServiceNames as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`unknown service "${value}"; choose from ${localServiceNames.join(', ')}`);
  }
  return [...previous, value as LocalServiceName];
}

function parseHost(value: string): LocalAzureHost {
  if (!(localAzureHosts as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`unknown host "${value}"; choose from ${localAzureHosts.join(', ')}`);
  }
  return value as LocalAzureHost;
}

function printProgress(event: StackProgressEvent): void {
  const marks: Record<StackProgressEvent['phase'], string> = {
    starting: '…',
    seeding: '…',
    ready: '✓',
    stopping: '…',
    stopped: '■',
    failed: '✗',
  };
  const detail = event.detail ? `  ${event.detail}` : '';
  process.stderr.write(`${marks[event.phase]} ${event.service.padEnd(9)} ${event.phase}${detail}\n`);
}

function isRunning(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function fail(message: string): never {
  process.stderr.write(`keyless-local: ${message}\n`);
  process.exit(1);
}

program.parseAsync().catch((error: unknown) => {
  fail(error instanceof Error ? error.message : String(error));
});
