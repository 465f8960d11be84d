import type { IdentityEndpoint } from '../identity/identity-types.js';
import type { RedisAccessPolicyName, RedisEntraUser, RedisPasswordUser } from './redis-types.js';

/** Options of `startRedisCluster()`. */
export interface RedisClusterOptions {
  /** TLS with the local CA: clients, the cluster bus and replication all use it (`tls-cluster`, `tls-replication`). */
  tls: { certPath: string; keyPath: string; caPath: string };
  /** Entra mode: tokens this endpoint mints for `https://redis.azure.com` become ACL passwords on every node. */
  identity?: Pick<IdentityEndpoint, 'onTokenIssued'>;
  /** ACL users with a password, on every node. */
  users?: RedisPasswordUser[];
  /** Entra principals: an ACL user named by the object id, on every node. */
  entraUsers?: RedisEntraUser[];
  /** The built-in access policy of every user that names none (see `RedisLauncherOptions.accessPolicy`). */
  accessPolicy?: RedisAccessPolicyName;
  /** Shards (masters). Default 3, the fewest Redis Cluster accepts. */
  masters?: number;
  /** Replicas of each master. Default 1. */
  replicasPerMaster?: number;
  /**
   * `cluster-node-timeout`: how long a master may be unreachable before its replica takes over.
   * Default 5 000 ms (Redis's is 15 000): failover tests finish sooner, and a loaded CI machine
   * still does not fail nodes over spuriously.
   */
  nodeTimeoutMs?: number;
  /** How long to wait for the nodes to answer and the cluster to report `cluster_state:ok`. Default 60 000. */
  startTimeoutMs?: number;
}

/** One node of the cluster: its identity and where clients reach it. Its role changes with failovers: see `topology()`. */
export interface RedisClusterNode {
  /** The 40-character node id (`CLUSTER MYID`); kept across `restartNode()`. */
  readonly id: string;
  readonly host: '127.0.0.1';
  /** The TLS port clients use; `CLUSTER SLOTS` and MOVED name it. */
  readonly tlsPort: number;
}

/** A node as the cluster reports it now (`CLUSTER NODES`). */
export interface RedisClusterNodeState {
  readonly node: RedisClusterNode;
  readonly role: 'master' | 'replica';
  /** A replica's master's id. */
  readonly masterId: string | undefined;
  /** A master's slot ranges, inclusive. */
  readonly slots: readonly (readonly [number, number])[];
}

/** Options of `addNode()`. */
export interface AddRedisClusterNodeOptions {
  /** Moves these slots (inclusive), with their keys, from their owners to the new master. Default: none. */
  slots?: { from: number; to: number };
}

/** A running Redis Cluster on loopback and its admin helpers. */
export interface RedisClusterInstance {
  readonly host: '127.0.0.1';
  /** Every node, added ones included, in the order they were started. */
  readonly nodes: readonly RedisClusterNode[];
  /** The seed list an application is given: `127.0.0.1:<tlsPort>` of every node, comma-separated. */
  readonly seedList: string;
  /** Roles and slots as the cluster reports them now. */
  topology(): Promise<RedisClusterNodeState[]>;
  /** ACL SETUSER resetpass + the new password on every node; authenticated connections stay, as in Redis. */
  rotatePassword(user: string, newPassword?: string): Promise<string>;
  /**
   * `CLUSTER FAILOVER` on a replica (given a master: on its first replica), then waits until every
   * node reports the replica as master. Resolves with the new master.
   */
  failover(node: RedisClusterNode): Promise<RedisClusterNode>;
  /**
   * Stops and starts one node on the same ports; it rejoins as itself with the ACL users and the
   * valid tokens of now. Nothing is persisted: a restarted master comes back empty (and its replica
   * resynchronises from it); fail over first to keep a shard's data.
   */
  restartNode(node: RedisClusterNode): Promise<void>;
  /** Starts an empty master, joins it with CLUSTER MEET, and optionally moves slots to it. */
  addNode(options?: AddRedisClusterNodeOptions): Promise<RedisClusterNode>;
  /** No process, port or folder left afterwards; calling it again is harmless. */
  stop(): Promise<void>;
}
