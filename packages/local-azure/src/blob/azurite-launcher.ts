import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { findFreePort } from '../processes/free-port.js';
import { ManagedChildProcess } from '../processes/managed-child-process.js';

export interface AzuriteOptions {
  /** The local CA's server certificate and key (files): Azurite serves HTTPS, as OAuth requires. */
  tls: { certPath: string; keyPath: string };
  port?: number;
}

export interface AzuriteInstance {
  /** Azurite's well-known development account. */
  readonly accountName: 'devstoreaccount1';
  /** `https://127.0.0.1:<port>/devstoreaccount1`: what `BlobServiceClient` takes. */
  readonly blobEndpoint: string;
  readonly port: number;
  /** Azurite's process id and working folder, so callers can check that stop() left nothing. */
  readonly pid: number | undefined;
  readonly workingFolder: string;
  stop(): Promise<void>;
}

const require = createRequire(import.meta.url);

/**
 * Azurite's Blob service from npm, as a child process: HTTPS with the local CA, `--oauth basic`
 * so bearer tokens are required and their issuer, audience and lifetime are checked (Azurite does
 * not verify signatures — the Key Vault and SQL emulators do), telemetry off, data in memory.
 */
export async function startAzurite(options: AzuriteOptions): Promise<AzuriteInstance> {
  const azuriteRoot = dirname(require.resolve('azurite/package.json'));
  const blobMain = join(azuriteRoot, 'dist', 'src', 'blob', 'main.js');
  const workspace = mkdtempSync(join(tmpdir(), 'keyless-azurite-'));
  const port = options.port ?? (await findFreePort());
  let child: ManagedChildProcess;
  try {
    child = await ManagedChildProcess.start(
      process.execPath,
      [
        blobMain,
        '--blobHost',
        '127.0.0.1',
        '--blobPort',
        String(port),
        '--cert',
        options.tls.certPath,
        '--key',
        options.tls.keyPath,
        '--oauth',
        'basic',
        '--disableTelemetry',
        '--inMemoryPersistence',
        // Azurite would otherwise reserve half the machine's memory for blob contents.
        '--extentMemoryLimit',
        '256',
        // The Azure SDK may speak a newer service version than this Azurite knows; auth is unaffected.
        '--skipApiVersionCheck',
      ],
      // In memory, so the working folder only catches anything Azurite might still write.
      {
        name: 'azurite',
        readyWhen: /successfully listens? /i,
        cwd: workspace,
        env: withoutExternalDatabase(process.env),
      },
    );
  } catch (error) {
    rmSync(workspace, { recursive: true, force: true });
    throw error;
  }
  let stopped: Promise<void> | undefined;
  return {
    accountName: 'devstoreaccount1',
    blobEndpoint: `https://127.0.0.1:${port}/devstoreaccount1`,
    port,
    pid: child.pid,
    workingFolder: workspace,
    stop() {
      stopped ??= child.stop().finally(() => rmSync(workspace, { recursive: true, force: true }));
      return stopped;
    },
  };
}

/** AZURITE_DB would point Azurite at an external SQL database, which in-memory mode refuses. */
function withoutExternalDatabase(environment: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { AZURITE_DB: _ignored, ...rest } = environment;
  return rest;
}
