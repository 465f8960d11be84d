import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { IssuedTokenEvent } from '../identity/identity-types.js';
import { findRedisServer } from '../processes/binary-lookup.js';
import { registerExitCleanup } from '../processes/exit-cleanup.js';
import { loopbackHost } from '../processes/free-port.js';
import { keepingAlive } from '../processes/keep-alive.js';
import { randomSecret } from '../processes/random-secret.js';
import { startOrCleanUp } from '../processes/server-start.js';
import { createTemporaryFolder, removeFolder } from '../processes/temporary-folder.js';
import { waitUntil } from '../processes/wait-until.js';
import { assertAccessPolicyName } from './redis-access-policy.js';
import { adminUserName } from './redis-acl.js';
import { ClusterNodeProcess, type ClusterNodeSharedSettings } from './redis-cluster-node.js';
import {
  type ClusterNodesLine,
  isHealthy,
  isMaster,
  parseClusterInfo,
  parseClusterNodes,
  slotRangeOf,
} from './redis-cluster-topology.js';
import type {
  AddRedisClusterNodeOptions,
  RedisClusterInstance,
  RedisClusterNode,
  RedisClusterNodeState,
  RedisClusterOptions,
} from './redis-cluster-types.js';
import { type AclSetUserArguments, RedisUsers } from './redis-users.js';
import { redisServerVersion } from './redis-version.js';

/**
 * The user replicas authenticate to their master as: the `default` user is off, and a replica needs
 * only these three commands (redis.conf's `masteruser`: "+psync +replconf +ping").
 */
const replicationUserName = 'keyless-replication';
const replicationUserRules = ['nocommands', '+psync', '+replconf', '+ping'] as const;

/**
 * A Redis Cluster on loopback, as Azure Managed Redis's OSS cluster policy presents one: every node
 * serves TLS with the local CA, talks TLS to the others (`tls-cluster`, `tls-replication`), has the
 * same ACL users, and in Entra mode every token the identity endpoint mints for Redis is a password
 * on every node, added later and restarted ones included. Created from Node (ADDSLOTS, MEET,
 * REPLICATE) rather than `redis-cli --cluster create`, so the launcher needs only redis-server.
 *
 * There is no token-expiry gateway here: each node announces its own address in MOVED and CLUSTER
 * SLOTS, so a gateway would be needed per node (with `cluster-announce-tls-port` naming it).
 * Connections whose token expired stay open, which is Redis's own behaviour (README, fidelity).
 */
export async function startRedisCluster(options: RedisClusterOptions): Promise<RedisClusterInstance> {
  if (!options?.tls?.certPath || !options.tls.keyPath || !options.tls.caPath) {
    throw new TypeError(
      'startRedisCluster: `tls` ({ certPath, keyPath, caPath }) is required: the nodes talk to each other over TLS. Pass the local CA’s server certificate (ensureLocalCertificateAuthority()).',
    );
  }
  if (options.entraUsers?.length && !options.identity) {
    throw new TypeError(
      'startRedisCluster: `entraUsers` need `identity`: the endpoint whose tokens become their passwords',
    );
  }
  const masters = options.masters ?? 3;
  if (!Number.isInteger(masters) || masters < 3) {
    throw new RangeError(
      `startRedisCluster: \`masters\` must be an integer of at least 3 (Redis Cluster's minimum), got ${String(masters)}`,
    );
  }
  const replicas = options.replicasPerMaster ?? 1;
  if (!Number.isInteger(replicas) || replicas < 0) {
    throw new RangeError(
      `startRedisCluster: \`replicasPerMaster\` must be an integer of at least 0, got ${String(replicas)}`,
    );
  }
  if (options.accessPolicy !== undefined) assertAccessPolicyName(options.accessPolicy, 'accessPolicy');
  for (const user of options.users ?? [])
    if (user.accessPolicy !== undefined) assertAccessPolicyName(user.accessPolicy, 'users[].accessPolicy');
  for (const user of options.entraUsers ?? [])
    if (user.accessPolicy !== undefined)
      assertAccessPolicyName(user.accessPolicy, 'entraUsers[].accessPolicy');
  return keepingAlive(() =>
    startOrCleanUp(
      new RedisCluster(findRedisServer(), createTemporaryFolder('redis-cluster'), options, masters, replicas),
    ),
  );
}

class RedisCluster implements RedisClusterInstance {
  readonly host = loopbackHost;
  readonly #nodes: ClusterNodeProcess[] = [];
  readonly #folder: string;
  readonly #options: RedisClusterOptions;
  readonly #masters: number;
  readonly #replicas: number;
  readonly #users: RedisUsers;
  readonly #shared: ClusterNodeSharedSettings;
  readonly #settleTimeoutMs: number;
  #foldersMade = 0;
  #unsubscribe: (() => void) | undefined;
  readonly #unregisterExitCleanup: () => void;
  #stopping: Promise<void> | undefined;

  constructor(
    binary: string,
    folder: string,
    options: RedisClusterOptions,
    masters: number,
    replicas: number,
  ) {
    this.#folder = folder;
    this.#options = options;
    this.#masters = masters;
    this.#replicas = replicas;
    this.#settleTimeoutMs = options.startTimeoutMs ?? 60_000;
    this.#users = new RedisUsers(options, redisServerVersion(binary), (removal) => {
      // Already gone from the state a (re)start renders; a node restarting may miss it harmlessly.
      this.#onEveryNode(removal).catch(() => {});
    });
    const replicationPassword = randomSecret();
    this.#users.addInternalUser(replicationUserName, replicationPassword, replicationUserRules);
    this.#shared = {
      binary,
      tls: options.tls,
      adminPassword: this.#users.adminPassword,
      aclUsers: () => this.#users.aclUsers(),
      cluster: {
        replicationUser: replicationUserName,
        replicationPassword,
        nodeTimeoutMs: options.nodeTimeoutMs ?? 5_000,
      },
      startTimeoutMs: 15_000,
    };
    this.#unregisterExitCleanup = registerExitCleanup(() => {
      for (const node of this.#nodes) node.killSynchronously();
      removeFolder(folder);
    });
  }

  get nodes(): readonly RedisClusterNode[] {
    return [...this.#nodes];
  }

  get seedList(): string {
    return this.#nodes.map((node) => `${node.host}:${node.tlsPort}`).join(',');
  }

  async start(): Promise<void> {
    if (this.#options.identity) {
      // First, so no token minted while the nodes start is missed: a node renders its ACL file from
      // the state when it starts, and one already started gets the SETUSER.
      this.#unsubscribe = this.#options.identity.onTokenIssued((event) => this.#acceptToken(event));
    }
    const nodes = Array.from({ length: this.#masters * (1 + this.#replicas) }, () => this.#newNode());
    // In parallel: on 2 cores the start is dominated by the processes starting, not by us.
    await Promise.all(nodes.map((node) => node.start()));
    const masters = nodes.slice(0, this.#masters);
    await Promise.all(
      masters.map(async (node, index) => {
        const [from, to] = slotRangeOf(index, this.#masters);
        const slots = Array.from({ length: to - from + 1 }, (_, offset) => String(from + offset));
        await node.command('CLUSTER', 'ADDSLOTS', ...slots);
        // Distinct epochs up front, as redis-cli --cluster create does, so no epoch collision has to resolve.
        await node.command('CLUSTER', 'SET-CONFIG-EPOCH', String(index + 1));
      }),
    );
    await this.#meet(nodes.slice(1));
    await this.#waitUntilSettled('the nodes to meet', { replicasLinked: false });
    await Promise.all(
      nodes.slice(this.#masters).map((replica, index) => {
        const master = masters[Math.floor(index / this.#replicas)] as ClusterNodeProcess;
        return replica.command('CLUSTER', 'REPLICATE', master.id);
      }),
    );
    await this.#waitUntilSettled('cluster_state:ok with every replica linked to its master');
  }

  #newNode(): ClusterNodeProcess {
    this.#foldersMade += 1;
    const node = new ClusterNodeProcess(join(this.#folder, `node-${this.#foldersMade}`), this.#shared);
    // Listed before it starts: a token minted meanwhile reaches it (its command waits for the server).
    this.#nodes.push(node);
    return node;
  }

  /** CLUSTER MEET from the first node; gossip tells the others. */
  async #meet(nodes: readonly ClusterNodeProcess[]): Promise<void> {
    const introducer = this.#nodes[0] as ClusterNodeProcess;
    for (const node of nodes) {
      await introducer.command('CLUSTER', 'MEET', loopbackHost, String(node.tlsPort), String(node.busPort));
    }
  }

  async #acceptToken(event: IssuedTokenEvent): Promise<void> {
    const addition = this.#users.acceptToken(event);
    if (addition) await this.#onEveryNode(addition);
  }

  /** ACL is per node in Redis Cluster: every change goes to every node (one not started yet renders it). */
  async #onEveryNode(command: AclSetUserArguments): Promise<void> {
    await Promise.all(this.#nodes.filter((node) => node.running).map((node) => node.command(...command)));
  }

  rotatePassword(user: string, newPassword?: string): Promise<string> {
    return keepingAlive(() => this.#rotatePassword(user, newPassword));
  }

  async #rotatePassword(user: string, newPassword?: string): Promise<string> {
    this.#assertRunning();
    const password = newPassword ?? randomSecret();
    await this.#onEveryNode(this.#users.rotatePassword(user, password));
    return password;
  }

  topology(): Promise<RedisClusterNodeState[]> {
    return keepingAlive(() => this.#topology());
  }

  async #topology(): Promise<RedisClusterNodeState[]> {
    this.#assertRunning();
    const lines = await this.#viewOf(this.#nodes[0] as ClusterNodeProcess);
    return lines.map((line) => ({
      node: this.#nodeById(line.id),
      role: isMaster(line) ? 'master' : 'replica',
      masterId: line.masterId,
      slots: line.slots,
    }));
  }

  failover(node: RedisClusterNode): Promise<RedisClusterNode> {
    return keepingAlive(() => this.#failover(node));
  }

  async #failover(node: RedisClusterNode): Promise<RedisClusterNode> {
    this.#assertRunning();
    const target = this.#own(node);
    const lines = await this.#viewOf(target);
    const line = lines.find((each) => each.id === target.id);
    const replicaLine = line && isMaster(line) ? lines.find((each) => each.masterId === line.id) : line;
    if (!replicaLine)
      throw new Error(`node ${target.id} is a master without a replica: nothing to fail over to`);
    const replica = this.#nodeById(replicaLine.id);
    // Without FORCE: the replica and its master agree first, so no acknowledged write is lost
    // (https://redis.io/docs/latest/commands/cluster-failover/).
    await replica.command('CLUSTER', 'FAILOVER');
    await this.#waitUntilSettled(`node ${replica.id} to become master`, {
      check: (view) => {
        const promoted = view.find((each) => each.id === replica.id);
        return promoted !== undefined && isMaster(promoted);
      },
    });
    return replica;
  }

  restartNode(node: RedisClusterNode): Promise<void> {
    return keepingAlive(() => this.#restartNode(node));
  }

  async #restartNode(node: RedisClusterNode): Promise<void> {
    this.#assertRunning();
    const target = this.#own(node);
    await target.restart();
    await this.#waitUntilSettled(`node ${target.id} to rejoin after its restart`);
  }

  addNode(options: AddRedisClusterNodeOptions = {}): Promise<RedisClusterNode> {
    return keepingAlive(() => this.#addNode(options));
  }

  async #addNode(options: AddRedisClusterNodeOptions): Promise<RedisClusterNode> {
    this.#assertRunning();
    const slots = options.slots;
    if (
      slots &&
      !(
        Number.isInteger(slots.from) &&
        Number.isInteger(slots.to) &&
        slots.from >= 0 &&
        slots.from <= slots.to &&
        slots.to < 16_384
      )
    ) {
      throw new RangeError(
        `addNode: \`slots\` must be { from, to } with 0 ≤ from ≤ to ≤ 16383, got ${JSON.stringify(slots)}`,
      );
    }
    const node = this.#newNode();
    try {
      await node.start();
    } catch (error) {
      // Not a member: the settle checks and token updates must not wait for it.
      this.#nodes.splice(this.#nodes.indexOf(node), 1);
      await node.stop().catch(() => {});
      throw error;
    }
    await this.#meet([node]);
    await this.#waitUntilSettled(`node ${node.id} to join`);
    if (slots) {
      for (let slot = slots.from; slot <= slots.to; slot++) await this.#moveSlot(slot, node);
      await this.#waitUntilSettled(`every node to agree that slots ${slots.from}-${slots.to} moved`);
    }
    return node;
  }

  /** Moves one slot and its keys, the way redis-cli --cluster reshard does (https://redis.io/docs/latest/commands/cluster-setslot/). */
  async #moveSlot(slot: number, target: ClusterNodeProcess): Promise<void> {
    const view = await this.#viewOf(target);
    const ownerLine = view.find(
      (line) => isMaster(line) && line.slots.some(([from, to]) => from <= slot && slot <= to),
    );
    if (!ownerLine || ownerLine.id === target.id) return;
    const owner = this.#nodeById(ownerLine.id);
    const number = String(slot);
    await target.command('CLUSTER', 'SETSLOT', number, 'IMPORTING', owner.id);
    await owner.command('CLUSTER', 'SETSLOT', number, 'MIGRATING', target.id);
    for (;;) {
      const keys = (await owner.command('CLUSTER', 'GETKEYSINSLOT', number, '100')) as string[];
      if (keys.length === 0) break;
      // Over TLS (tls-cluster makes MIGRATE use it), as the admin user: the `default` user is off.
      await owner.command(
        'MIGRATE',
        loopbackHost,
        String(target.tlsPort),
        '',
        '0',
        '10000',
        'AUTH2',
        adminUserName,
        this.#users.adminPassword,
        'KEYS',
        ...keys,
      );
    }
    const masters = view.filter(isMaster).map((line) => this.#nodeById(line.id));
    // The new owner first, then the old one, then everyone else, as the specification orders it.
    for (const master of [target, owner, ...masters.filter((each) => each !== target && each !== owner)]) {
      await master.command('CLUSTER', 'SETSLOT', number, 'NODE', target.id);
    }
  }

  /**
   * Waits until every node reports `cluster_state:ok`, knows every node as healthy, all views agree on
   * the roles and slots, every replica's link to its master is up, and `check` (if any) holds.
   */
  async #waitUntilSettled(
    what: string,
    options: { replicasLinked?: boolean; check?: (view: ClusterNodesLine[]) => boolean } = {},
  ): Promise<void> {
    const settled = await waitUntil(
      async () => {
        const nodes = this.#nodes;
        const views = await Promise.all(
          nodes.map(async (node) => {
            const info = parseClusterInfo(String(await node.command('CLUSTER', 'INFO')));
            const view = await this.#viewOf(node);
            const replication = String(await node.command('INFO', 'replication'));
            return { node, info, view, replication };
          }),
        );
        let signature: string | undefined;
        for (const { node, info, view, replication } of views) {
          const state = info.get('cluster_state');
          if (state !== 'ok') throw new Error(`node :${node.tlsPort} reports cluster_state:${state}`);
          if (view.length !== nodes.length || !view.every(isHealthy))
            throw new Error(`node :${node.tlsPort} does not see all ${nodes.length} nodes healthy yet`);
          const own = topologySignature(view);
          signature ??= own;
          if (own !== signature) throw new Error('the nodes do not agree on roles and slots yet');
          const myself = view.find((line) => line.flags.includes('myself'));
          if (
            options.replicasLinked !== false &&
            myself &&
            !isMaster(myself) &&
            !/master_link_status:up/.test(replication)
          )
            throw new Error(`replica :${node.tlsPort} has no link to its master yet`);
          if (options.check && !options.check(view))
            throw new Error(`node :${node.tlsPort} does not report it yet`);
        }
        return true;
      },
      { timeoutMs: this.#settleTimeoutMs, intervalMs: 100 },
    );
    if ('failure' in settled) throw new Error(`Redis Cluster: waited for ${what}; ${settled.failure}`);
  }

  async #viewOf(node: ClusterNodeProcess): Promise<ClusterNodesLine[]> {
    return parseClusterNodes(String(await node.command('CLUSTER', 'NODES')));
  }

  #nodeById(id: string): ClusterNodeProcess {
    const node = this.#nodes.find((each) => each.id === id);
    if (!node) throw new Error(`the cluster reports a node ${id} this launcher did not start`);
    return node;
  }

  #own(node: RedisClusterNode): ClusterNodeProcess {
    const own = this.#nodes.find((each) => each === node || each.id === node?.id);
    if (!own) throw new TypeError('not a node of this Redis Cluster: pass one of `nodes` or `topology()`');
    return own;
  }

  #assertRunning(): void {
    if (this.#stopping) throw new Error('the Redis Cluster is stopped');
  }

  stop(): Promise<void> {
    this.#stopping ??= keepingAlive(() => this.#stopEverything());
    return this.#stopping;
  }

  async #stopEverything(): Promise<void> {
    this.#unsubscribe?.();
    this.#users.close();
    try {
      await Promise.all(this.#nodes.map((node) => node.stop()));
    } finally {
      removeFolder(this.#folder);
      this.#unregisterExitCleanup();
    }
    if (existsSync(this.#folder)) throw new Error(`could not remove ${this.#folder}`);
  }

  /** What util.inspect and JSON.stringify show: where it runs, never a password. */
  toJSON(): Record<string, unknown> {
    return { host: this.host, nodes: this.seedList };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `RedisClusterInstance { host: '${this.host}', nodes: '${this.seedList}' }`;
  }
}

/** Roles and slots, the same from every node's point of view once the cluster has settled. */
function topologySignature(view: readonly ClusterNodesLine[]): string {
  return view
    .map((line) =>
      isMaster(line)
        ? `${line.id} master ${line.slots.map(([from, to]) => `${from}-${to}`).join(',')}`
        : `${line.id} replica-of ${line.masterId}`,
    )
    .sort()
    .join('\n');
}
