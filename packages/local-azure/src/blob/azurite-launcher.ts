import { registerExitCleanup } from '../processes/exit-cleanup.js';
import { findFreePort, loopbackHost, waitForPortToBeFree } from '../processes/free-port.js';
import { ServerStartError } from '../processes/launcher-errors.js';
import { ManagedServerProcess } from '../processes/managed-server-process.js';
import { createTemporaryFolder, removeFolder } from '../processes/temporary-folder.js';
import { waitUntil } from '../processes/wait-until.js';
import { resolveAzuriteBlobMain } from './azurite-package.js';

/** Options of `startAzurite()`. */
export interface AzuriteOptions {
  /** The local CA's server certificate and key (files): Azurite serves HTTPS, as OAuth requires. */
  tls: { certPath: string; keyPath: string };
  /** Default: a free loopback port. */
  port?: number;
  /** Default 20 s. */
  startTimeoutMs?: number;
}

/** A running Azurite Blob service. */
export interface AzuriteInstance {
  /** Azurite's well-known development account. */
  readonly accountName: 'devstoreaccount1';
  /** `https://127.0.0.1:<port>/devstoreaccount1`: what `BlobServiceClient` takes. */
  readonly blobEndpoint: string;
  /** The HTTPS port it listens on (loopback). */
  readonly port: number;
  /** Azurite's process id and working folder, so callers can check that stop() left nothing. */
  readonly pid: number | undefined;
  readonly workingFolder: string;
  /** Ends the process and removes its working folder. */
  stop(): Promise<void>;
}

/**
 * Azurite's Blob service from npm, as a child process: HTTPS with the local CA, `--oauth basic`
 * so bearer tokens are required and their issuer, audience and lifetime are checked (Azurite does
 * not verify signatures — the Key Vault and SQL emulators do), telemetry off, data in memory.
 * Azurite is an optional peer dependency: without it this throws `MissingPackageError`, naming the
 * install command, before anything is started.
 */
export async function startAzurite(options: AzuriteOptions): Promise<AzuriteInstance> {
  const blobMain = resolveAzuriteBlobMain();
  // In memory: the working folder only catches anything Azurite might still write.
  const workingFolder = createTemporaryFolder('azurite');
  const port = options.port ?? (await findFreePort());
  const server = ManagedServerProcess.start({
    name: 'azurite',
    command: process.execPath,
    args: [
      blobMain,
      ...['--blobHost', loopbackHost, '--blobPort', String(port)],
      ...['--cert', options.tls.certPath, '--key', options.tls.keyPath],
      ...['--oauth', 'basic'],
      '--disableTelemetry',
      '--inMemoryPersistence',
      // Azurite would otherwise reserve half the machine's memory for blob contents.
      ...['--extentMemoryLimit', '256'],
      // The Azure SDK may speak a newer service version than this Azurite knows; auth is unaffected.
      '--skipApiVersionCheck',
    ],
    cwd: workingFolder,
    stopSignal: 'SIGTERM',
    emergencySignal: 'SIGKILL',
  });
  const unregisterExitCleanup = registerExitCleanup(() => {
    server.killSynchronously();
    removeFolder(workingFolder);
  });
  const ready = await waitUntil(
    async () => (/successfully listens? /i.test(server.logTail()) ? true : undefined),
    {
      timeoutMs: options.startTimeoutMs ?? 20_000,
      intervalMs: 50,
      abortWhen: server.whenExited(),
    },
  );
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      await server.stop();
      await waitForPortToBeFree(port);
      removeFolder(workingFolder);
      unregisterExitCleanup();
    })();
    return stopped;
  };
  if ('failure' in ready) {
    const logTail = server.logTail();
    await stop();
    throw new ServerStartError('azurite', ready.failure, logTail);
  }
  return {
    accountName: 'devstoreaccount1',
    blobEndpoint: `https://${loopbackHost}:${port}/devstoreaccount1`,
    port,
    pid: server.pid,
    workingFolder,
    stop,
  };
}
