import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IssuedTokenEvent } from '../identity/identity-types.js';
import { findRedisServer } from '../processes/binary-lookup.js';
import { registerExitCleanup } from '../processes/exit-cleanup.js';
import { findFreePort, loopbackHost, waitForPortToBeFree } from '../processes/free-port.js';
import { keepingAlive } from '../processes/keep-alive.js';
import { ServerStartError } from '../processes/launcher-errors.js';
import { ManagedServerProcess } from '../processes/managed-server-process.js';
import { randomSecret } from '../processes/random-secret.js';
import { startOnFreePort, startOrCleanUp } from '../processes/server-start.js';
import { createTemporaryFolder, removeFolder } from '../processes/temporary-folder.js';
import { waitUntil } from '../processes/wait-until.js';
import { assertAccessPolicyName } from './redis-access-policy.js';
import { adminUserName, renderAclFile } from './redis-acl.js';
import { renderRedisConfiguration } from './redis-configuration.js';
import type { RedisCounters, RedisInstance, RedisLauncherOptions } from './redis-types.js';
import { RedisUsers } from './redis-users.js';
import { redisServerVersion } from './redis-version.js';
import { RespConnection, RespError } from './resp-connection.js';
import { TokenExpiryGateway } from './token-expiry-gateway.js';

/**
 * A private redis-server: loopback only, `default` user off, ACL users with passwords under a
 * built-in access policy, and in Entra mode every token the identity endpoint mints for Redis
 * added as a password of the identity's ACL user until it expires, with a gateway in front that
 * closes connections whose token expired (see TokenExpiryGateway).
 */
export async function startRedis(options: RedisLauncherOptions = {}): Promise<RedisInstance> {
  if (options.entraUsers?.length && !options.identity) {
    throw new Error('entraUsers need `identity`: the endpoint whose tokens become their passwords');
  }
  if (options.accessPolicy !== undefined) assertAccessPolicyName(options.accessPolicy, 'accessPolicy');
  for (const user of options.users ?? [])
    if (user.accessPolicy !== undefined) assertAccessPolicyName(user.accessPolicy, 'users[].accessPolicy');
  for (const user of options.entraUsers ?? [])
    if (user.accessPolicy !== undefined)
      assertAccessPolicyName(user.accessPolicy, 'entraUsers[].accessPolicy');
  const expired = options.expiredTokenConnections;
  if (expired !== undefined && expired !== 'close' && expired !== 'keep') {
    throw new RangeError("startRedis: `expiredTokenConnections` must be 'close' or 'keep'");
  }
  return keepingAlive(() =>
    startOrCleanUp(new RedisServer(findRedisServer(), createTemporaryFolder('redis'), options)),
  );
}

class RedisServer implements RedisInstance {
  readonly host = loopbackHost;
  /** redis-server's own ports: the client-facing ones, or private ones behind the gateway. */
  #port = 0;
  #tlsPort: number | undefined;
  readonly #binary: string;
  /** In Entra mode (unless `expiredTokenConnections: 'keep'`): serves the client-facing ports. */
  #gateway: TokenExpiryGateway | undefined;
  readonly #folder: string;
  readonly #options: RedisLauncherOptions;
  readonly #users: RedisUsers;
  #process: ManagedServerProcess | undefined;
  /** The admin connection of the running server; replaced by restart(), so commands wait for it. */
  #admin: Promise<RespConnection> | undefined;
  #unsubscribe: (() => void) | undefined;
  readonly #unregisterExitCleanup: () => void;
  #stopping: Promise<void> | undefined;
  /** Set once our server answered: only then are the ports ours to wait for on stop (a failed start may have found them taken). */
  #listened = false;

  constructor(binary: string, folder: string, options: RedisLauncherOptions) {
    this.#binary = binary;
    this.#folder = folder;
    this.#options = options;
    this.#users = new RedisUsers(options, redisServerVersion(binary), (removal) => {
      // Already gone from the state the next start renders; a failure here (server restarting) is harmless.
      this.#adminCommand(...removal).catch(() => {});
    });
    this.#unregisterExitCleanup = registerExitCleanup(() => {
      this.#process?.killSynchronously();
      removeFolder(folder);
    });
  }

  get port(): number {
    return this.#gateway?.port ?? this.#port;
  }

  get tlsPort(): number | undefined {
    return this.#gateway ? this.#gateway.tlsPort : this.#tlsPort;
  }

  get counters(): RedisCounters {
    const gateway = this.#gateway;
    return {
      get expiryDrops() {
        return gateway?.expiryDrops ?? 0;
      },
    };
  }

  get #gatewayed(): boolean {
    return this.#options.identity !== undefined && this.#options.expiredTokenConnections !== 'keep';
  }

  async start(): Promise<void> {
    const gatewayed = this.#gatewayed;
    await startOnFreePort(
      gatewayed ? undefined : this.#options.port,
      async (port) => {
        this.#port = port;
        // Behind the gateway redis-server speaks plain TCP on loopback only; the gateway does TLS.
        if (this.#options.tls && !gatewayed) {
          // Two look-ups in a row can hand out the same port.
          do this.#tlsPort = await findFreePort();
          while (this.#tlsPort === port);
        }
        this.#admin = this.#startProcess();
        await this.#admin;
      },
      () => /Address already in use/i.test(this.#process?.logTail() ?? ''),
    );
    if (gatewayed) {
      const tls = this.#options.tls;
      this.#gateway = await TokenExpiryGateway.start({
        upstreamPort: () => this.#port,
        judge: this.#users.passwordJudge(),
        port: this.#options.port ?? 0,
        ...(tls ? { tls: { certPath: tls.certPath, keyPath: tls.keyPath, port: 0 } } : {}),
      });
    }
    if (this.#options.identity) {
      // Awaited by the endpoint before it answers: the token is a password before the client has it.
      this.#unsubscribe = this.#options.identity.onTokenIssued((event) => this.#acceptToken(event));
    }
  }

  async #acceptToken(event: IssuedTokenEvent): Promise<void> {
    const addition = this.#users.acceptToken(event);
    if (addition) await this.#adminCommand(...addition);
  }

  async #startProcess(): Promise<RespConnection> {
    const aclFile = join(this.#folder, 'users.acl');
    const configurationFile = join(this.#folder, 'redis.conf');
    writeFileSync(aclFile, renderAclFile(this.#users.aclUsers()), { mode: 0o600 });
    const tls = this.#options.tls;
    writeFileSync(
      configurationFile,
      renderRedisConfiguration({
        port: this.#port,
        folder: this.#folder,
        aclFile,
        ...(tls && this.#tlsPort ? { tls: { ...tls, port: this.#tlsPort } } : {}),
      }),
      { mode: 0o600 },
    );
    const serverProcess = ManagedServerProcess.start({
      name: 'redis-server',
      command: this.#binary,
      args: [configurationFile],
      cwd: this.#folder,
      stopSignal: 'SIGTERM',
      emergencySignal: 'SIGTERM',
    });
    this.#process = serverProcess;
    const ready = await waitUntil(() => this.#connectAdmin(), {
      timeoutMs: this.#options.startTimeoutMs ?? 15_000,
      intervalMs: 25,
      abortWhen: serverProcess.whenExited(),
    });
    if ('failure' in ready) {
      const logTail = serverProcess.logTail();
      await serverProcess.stop(2_000);
      throw new ServerStartError('Redis', ready.failure, logTail);
    }
    this.#listened = true;
    return ready.value;
  }

  async #connectAdmin(): Promise<RespConnection> {
    const connection = await RespConnection.open(loopbackHost, this.#port);
    try {
      await connection.command('AUTH', adminUserName, this.#users.adminPassword);
      await connection.command('PING');
      return connection;
    } catch (error) {
      connection.close();
      throw error;
    }
  }

  async #adminCommand(...args: readonly string[]): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      if (!this.#admin || this.#stopping) throw new Error('the Redis instance is stopped');
      const current = this.#admin;
      try {
        await (await current).command(...args);
        return;
      } catch (error) {
        // An application user may CLIENT KILL the admin connection (Azure lets Data Owner kill
        // clients): connect again once rather than stop accepting tokens for good.
        if (error instanceof RespError || this.#stopping || this.#admin !== current || attempt > 1)
          throw error;
        (await current.catch(() => undefined))?.close();
        this.#admin = this.#connectAdmin();
      }
    }
  }

  rotatePassword(user: string, newPassword?: string): Promise<string> {
    return keepingAlive(async () => {
      const password = newPassword ?? randomSecret();
      await this.#adminCommand(...this.#users.rotatePassword(user, password));
      return password;
    });
  }

  restart(): Promise<void> {
    return keepingAlive(() => this.#restart());
  }

  async #restart(): Promise<void> {
    if (this.#stopping) throw new Error('the Redis instance is stopped');
    const previous = this.#admin;
    // Commands issued meanwhile (a token minted, a timer expiring one) wait for the new server.
    this.#admin = (async () => {
      (await previous?.catch(() => undefined))?.close();
      await this.#process?.stop();
      await this.#waitForPortsToBeFree();
      return this.#startProcess();
    })();
    await this.#admin;
  }

  async #waitForPortsToBeFree(): Promise<void> {
    if (!this.#listened) return;
    await waitForPortToBeFree(this.#port);
    if (this.#tlsPort !== undefined) await waitForPortToBeFree(this.#tlsPort);
  }

  stop(): Promise<void> {
    this.#stopping ??= keepingAlive(() => this.#stopEverything());
    return this.#stopping;
  }

  async #stopEverything(): Promise<void> {
    this.#unsubscribe?.();
    this.#users.close();
    try {
      await this.#gateway?.close();
      const admin = await this.#admin?.catch(() => undefined);
      admin?.close();
      await this.#process?.stop();
      await this.#waitForPortsToBeFree();
    } finally {
      removeFolder(this.#folder);
      this.#unregisterExitCleanup();
    }
    if (existsSync(this.#folder)) throw new Error(`could not remove ${this.#folder}`);
  }

  /** What util.inspect and JSON.stringify show: where it runs, never a password. */
  toJSON(): Record<string, unknown> {
    return { host: this.host, port: this.port, tlsPort: this.tlsPort };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    const tls = this.tlsPort === undefined ? '' : `, tlsPort: ${this.tlsPort}`;
    return `RedisInstance { host: '${this.host}', port: ${this.port}${tls} }`;
  }
}
