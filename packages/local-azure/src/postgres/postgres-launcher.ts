import { existsSync } from 'node:fs';
import { findPostgresBinFolder } from '../processes/binary-lookup.js';
import { registerExitCleanup } from '../processes/exit-cleanup.js';
import { loopbackHost, waitForPortToBeFree } from '../processes/free-port.js';
import { ServerStartError } from '../processes/launcher-errors.js';
import type { ManagedServerProcess } from '../processes/managed-server-process.js';
import { randomSecret } from '../processes/random-secret.js';
import { startOnFreePort, startOrCleanUp } from '../processes/server-start.js';
import { unprivilegedUserForPostgres } from '../processes/system-user.js';
import { createTemporaryFolder, removeFolder } from '../processes/temporary-folder.js';
import { waitUntil } from '../processes/wait-until.js';
import { Downtime } from './downtime.js';
import { createEntraBindCheck } from './entra-bind-check.js';
import { type LdapBindResponder, startLdapBindResponder } from './ldap-bind-responder.js';
import { PostgresAdmin } from './postgres-admin.js';
import {
  type ClusterLayout,
  clusterLayout,
  configureCluster,
  initializeCluster,
  startClusterProcess,
} from './postgres-cluster.js';
import type {
  PostgresEntraRole,
  PostgresInstance,
  PostgresLauncherOptions,
  PostgresRestartOptions,
} from './postgres-types.js';

const defaultDatabase = 'keyless';

/**
 * A private PostgreSQL: its own cluster in a temporary folder, a free loopback port, password
 * authentication enforced (scram-sha-256), and in Entra mode the identity endpoint's tokens as
 * passwords of the mapped roles.
 */
export async function startPostgres(options: PostgresLauncherOptions = {}): Promise<PostgresInstance> {
  if (options.entraRoles?.length && !options.identity) {
    throw new Error('entraRoles need `identity`: the endpoint whose tokens the roles accept');
  }
  const binFolder = findPostgresBinFolder();
  const runAs = unprivilegedUserForPostgres();
  const layout = clusterLayout(binFolder, createTemporaryFolder('postgres', runAs), runAs);
  return startOrCleanUp(new PostgresServer(layout, options));
}

class PostgresServer implements PostgresInstance {
  readonly host = loopbackHost;
  readonly database: string;
  #port = 0;
  readonly #layout: ClusterLayout;
  readonly #options: PostgresLauncherOptions;
  readonly #entraRoles = new Map<string, string>();
  readonly #adminPassword = randomSecret();
  #admin: PostgresAdmin | undefined;
  #process: ManagedServerProcess | undefined;
  #ldap: LdapBindResponder | undefined;
  #unregisterExitCleanup: () => void;
  #stopping: Promise<void> | undefined;
  readonly #downtime = new Downtime();
  /** Set once our server answered: only then is the port ours to wait for on stop (a failed start may have found it taken). */
  #listened = false;

  constructor(layout: ClusterLayout, options: PostgresLauncherOptions) {
    this.#layout = layout;
    this.#options = options;
    this.database = options.database ?? defaultDatabase;
    for (const role of options.entraRoles ?? []) this.#entraRoles.set(role.roleName, role.objectId);
    // Registered before anything runs: a crash half-way through start still leaves nothing behind.
    this.#unregisterExitCleanup = registerExitCleanup(() => {
      this.#process?.killSynchronously();
      removeFolder(layout.folder);
    });
  }

  get port(): number {
    return this.#port;
  }

  async start(): Promise<void> {
    await initializeCluster(this.#layout, this.#adminPassword);
    const identity = this.#options.identity;
    if (identity) {
      this.#ldap = await startLdapBindResponder(
        createEntraBindCheck(identity, (roleName) => this.#entraRoles.get(roleName)),
      );
    }
    await this.#startOnFreePort();
    const admin = this.#requireAdmin();
    await admin.createDatabase(this.database);
    admin.open(this.database);
    if (identity) await admin.createEntraGroup();
    for (const user of this.#options.users ?? []) {
      await admin.createPasswordRole(this.database, user.name, user.password);
    }
    for (const [roleName] of this.#entraRoles) await admin.createEntraRole(this.database, roleName);
  }

  /** A port found free can be taken before postgres binds it; only a port we picked is worth retrying. */
  async #startOnFreePort(): Promise<void> {
    await startOnFreePort(
      this.#options.port,
      async (port) => {
        this.#port = port;
        configureCluster(this.#layout, {
          port,
          ...(this.#options.tls ? { tls: this.#options.tls } : {}),
          ...(this.#ldap ? { ldapPort: this.#ldap.port } : {}),
        });
        this.#admin = new PostgresAdmin(this.#layout.socketFolder, port, this.#adminPassword);
        await this.#startProcess();
      },
      () => /Address already in use|could not bind/i.test(this.#process?.logTail() ?? ''),
    );
  }

  async #startProcess(): Promise<void> {
    const serverProcess = startClusterProcess(this.#layout);
    this.#process = serverProcess;
    const admin = this.#requireAdmin();
    const ready = await waitUntil(() => admin.probe(), {
      timeoutMs: this.#options.startTimeoutMs ?? 30_000,
      intervalMs: 50,
      abortWhen: serverProcess.whenExited(),
    });
    if ('failure' in ready) {
      const logTail = serverProcess.logTail();
      await serverProcess.stop(2_000);
      throw new ServerStartError('PostgreSQL', ready.failure, logTail);
    }
    this.#listened = true;
  }

  #requireAdmin(): PostgresAdmin {
    if (!this.#admin || this.#stopping) throw new Error('the PostgreSQL instance is stopped');
    return this.#admin;
  }

  async rotatePassword(user: string, newPassword?: string): Promise<string> {
    const password = newPassword ?? randomSecret();
    await this.#requireAdmin().setPassword(user, password);
    return password;
  }

  async addEntraRole(role: PostgresEntraRole): Promise<void> {
    if (!this.#ldap) throw new Error('addEntraRole needs Entra mode: start PostgreSQL with `identity`');
    await this.#requireAdmin().createEntraRole(this.database, role.roleName);
    this.#entraRoles.set(role.roleName, role.objectId);
  }

  async query(sql: string, params?: unknown[]): Promise<unknown[]> {
    return this.#requireAdmin().query(sql, params);
  }

  async restart(options: PostgresRestartOptions = {}): Promise<void> {
    const downtimeMs = options.downtimeMs ?? 0;
    if (!Number.isFinite(downtimeMs) || downtimeMs < 0) {
      throw new RangeError(`restart: downtimeMs must be a number of milliseconds >= 0, got ${downtimeMs}`);
    }
    const admin = this.#requireAdmin();
    await admin.close();
    await this.#process?.stop();
    await waitForPortToBeFree(this.#port);
    // Nothing listens during the downtime, so clients get "connection refused" the whole time, as
    // while Azure fails over or patches a server.
    if (downtimeMs > 0) await this.#downtime.wait(downtimeMs);
    if (this.#stopping) throw new Error('the PostgreSQL instance was stopped during its restart');
    await this.#startProcess();
    admin.open(this.database);
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stopEverything();
    // A restart waiting out its downtime ends now instead of starting the server again.
    this.#downtime.cancel();
    return this.#stopping;
  }

  async #stopEverything(): Promise<void> {
    try {
      await this.#admin?.close();
      await this.#process?.stop();
      await this.#ldap?.close();
      if (this.#listened) await waitForPortToBeFree(this.#port);
    } finally {
      removeFolder(this.#layout.folder);
      this.#unregisterExitCleanup();
    }
    if (existsSync(this.#layout.folder)) throw new Error(`could not remove ${this.#layout.folder}`);
  }

  /** What util.inspect and JSON.stringify show: where it runs, never a password. */
  toJSON(): Record<string, unknown> {
    return { host: this.host, port: this.#port, database: this.database };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `PostgresInstance { host: '${this.host}', port: ${this.#port}, database: '${this.database}' }`;
  }
}
