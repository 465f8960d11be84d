import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findFreePort, loopbackHost, waitForPortToBeFree } from '../processes/free-port.js';
import { ServerStartError } from '../processes/launcher-errors.js';
import { ManagedServerProcess } from '../processes/managed-server-process.js';
import { waitUntil } from '../processes/wait-until.js';
import { type AclUser, adminUserName, renderAclFile } from './redis-acl.js';
import type { RedisClusterNode } from './redis-cluster-types.js';
import { type RedisClusterNodeSettings, renderRedisConfiguration } from './redis-configuration.js';
import { RespConnection, RespError, type RespValue } from './resp-connection.js';

/** What every node of one cluster shares. */
export interface ClusterNodeSharedSettings {
  binary: string;
  tls: { certPath: string; keyPath: string; caPath: string };
  adminPassword: string;
  /** The ACL users as of now: read at every (re)start, so a restarted or added node has today's. */
  aclUsers: () => ReadonlyMap<string, AclUser>;
  cluster: Omit<RedisClusterNodeSettings, 'busPort'>;
  startTimeoutMs: number;
}

interface NodePorts {
  /** Plain TCP on loopback, for the launcher's admin connection only. */
  adminPort: number;
  tlsPort: number;
  busPort: number;
}

/** How often a node is started on other free ports when one found free was taken first. */
const portAttempts = 3;

/**
 * One redis-server of a cluster in its own folder (which keeps nodes.conf across restarts, so the
 * node rejoins as itself), with the launcher's admin connection to it.
 */
export class ClusterNodeProcess implements RedisClusterNode {
  readonly host = loopbackHost;
  #id = '';
  #ports: NodePorts = { adminPort: 0, tlsPort: 0, busPort: 0 };
  readonly #folder: string;
  readonly #settings: ClusterNodeSharedSettings;
  #process: ManagedServerProcess | undefined;
  /** The admin connection of the running server; replaced by restart(), so commands wait for it. */
  #admin: Promise<RespConnection> | undefined;
  #stopped = false;
  /** Set once our server answered: only then are the ports ours to wait for on stop. */
  #listened = false;

  constructor(folder: string, settings: ClusterNodeSharedSettings) {
    this.#folder = folder;
    this.#settings = settings;
    mkdirSync(folder, { recursive: true, mode: 0o700 });
  }

  get id(): string {
    return this.#id;
  }

  get tlsPort(): number {
    return this.#ports.tlsPort;
  }

  /** The cluster bus port, for CLUSTER MEET. */
  get busPort(): number {
    return this.#ports.busPort;
  }

  /** Started and not stopped: commands reach it (or wait for its restart). */
  get running(): boolean {
    return this.#admin !== undefined && !this.#stopped;
  }

  /** Starts on free ports, trying others when one was taken between the look-up and the bind. */
  async start(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      this.#ports = await distinctFreePorts();
      this.#admin = this.#startProcess();
      try {
        await this.#admin;
        break;
      } catch (error) {
        const taken = /Address already in use/i.test(this.#process?.logTail() ?? '');
        if (!taken || attempt >= portAttempts || this.#stopped) throw error;
      }
    }
    this.#id = String(await this.command('CLUSTER', 'MYID'));
  }

  async #startProcess(): Promise<RespConnection> {
    const aclFile = join(this.#folder, 'users.acl');
    const configurationFile = join(this.#folder, 'redis.conf');
    writeFileSync(aclFile, renderAclFile(this.#settings.aclUsers()), { mode: 0o600 });
    writeFileSync(
      configurationFile,
      renderRedisConfiguration({
        port: this.#ports.adminPort,
        folder: this.#folder,
        aclFile,
        tls: { ...this.#settings.tls, port: this.#ports.tlsPort },
        cluster: { ...this.#settings.cluster, busPort: this.#ports.busPort },
      }),
      { mode: 0o600 },
    );
    const serverProcess = ManagedServerProcess.start({
      name: 'redis-server',
      command: this.#settings.binary,
      args: [configurationFile],
      cwd: this.#folder,
      stopSignal: 'SIGTERM',
      emergencySignal: 'SIGTERM',
    });
    this.#process = serverProcess;
    const ready = await waitUntil(() => this.#connectAdmin(), {
      timeoutMs: this.#settings.startTimeoutMs,
      intervalMs: 25,
      abortWhen: serverProcess.whenExited(),
    });
    if ('failure' in ready) {
      const logTail = serverProcess.logTail();
      await serverProcess.stop(2_000);
      throw new ServerStartError('Redis Cluster node', ready.failure, logTail);
    }
    this.#listened = true;
    return ready.value;
  }

  async #connectAdmin(): Promise<RespConnection> {
    const connection = await RespConnection.open(loopbackHost, this.#ports.adminPort);
    try {
      await connection.command('AUTH', adminUserName, this.#settings.adminPassword);
      await connection.command('PING');
      return connection;
    } catch (error) {
      connection.close();
      throw error;
    }
  }

  /** One command on the admin connection; a dropped connection (CLIENT KILL by an app user) is reopened once. */
  async command(...args: readonly string[]): Promise<RespValue> {
    for (let attempt = 1; ; attempt += 1) {
      if (!this.#admin || this.#stopped) throw new Error('the Redis Cluster node is stopped');
      const current = this.#admin;
      try {
        return await (await current).command(...args);
      } catch (error) {
        if (error instanceof RespError || this.#stopped || this.#admin !== current || attempt > 1)
          throw error;
        (await current.catch(() => undefined))?.close();
        this.#admin = this.#connectAdmin();
      }
    }
  }

  /** Stops and starts redis-server on the same ports; commands issued meanwhile wait for it. */
  async restart(): Promise<void> {
    if (this.#stopped) throw new Error('the Redis Cluster node is stopped');
    const previous = this.#admin;
    this.#admin = (async () => {
      (await previous?.catch(() => undefined))?.close();
      await this.#process?.stop();
      await this.#waitForPortsToBeFree();
      return this.#startProcess();
    })();
    await this.#admin;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    (await this.#admin?.catch(() => undefined))?.close();
    await this.#process?.stop();
    await this.#waitForPortsToBeFree();
  }

  /** For the exit hook, which cannot await. */
  killSynchronously(): void {
    this.#process?.killSynchronously();
  }

  async #waitForPortsToBeFree(): Promise<void> {
    if (!this.#listened) return;
    for (const port of Object.values(this.#ports)) await waitForPortToBeFree(port);
  }

  toJSON(): Record<string, unknown> {
    return { id: this.id, host: this.host, tlsPort: this.tlsPort };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `RedisClusterNode { id: '${this.id}', host: '${this.host}', tlsPort: ${this.tlsPort} }`;
  }
}

/** Three free ports, none the same: two look-ups in a row can hand out the same one. */
async function distinctFreePorts(): Promise<NodePorts> {
  const ports = new Set<number>();
  while (ports.size < 3) ports.add(await findFreePort());
  const [adminPort, tlsPort, busPort] = [...ports] as [number, number, number];
  return { adminPort, tlsPort, busPort };
}
