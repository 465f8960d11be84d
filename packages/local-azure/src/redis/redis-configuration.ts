export interface RedisServerSettings {
  port: number;
  folder: string;
  aclFile: string;
  tls?: { port: number; certPath: string; keyPath: string; caPath: string };
  /** A Redis Cluster node (needs `tls`: the nodes talk to each other over TLS only). */
  cluster?: RedisClusterNodeSettings;
}

export interface RedisClusterNodeSettings {
  /** The cluster bus port; set explicitly because the default (client port + 10 000) may be taken or above 65 535. */
  busPort: number;
  /** The ACL user replicas authenticate as to their master (the `default` user is off). */
  replicationUser: string;
  replicationPassword: string;
  /** How long a node may be unreachable before it is failed over. */
  nodeTimeoutMs: number;
}

/** redis.conf for a private, throwaway instance: loopback only, nothing written to disk. */
export function renderRedisConfiguration(settings: RedisServerSettings): string {
  const lines = [
    `port ${settings.port}`,
    'bind 127.0.0.1',
    'protected-mode yes',
    'daemonize no',
    'save ""',
    'appendonly no',
    `dir "${settings.folder}"`,
    `aclfile "${settings.aclFile}"`,
    'logfile ""',
    'loglevel notice',
  ];
  if (settings.tls) {
    lines.push(
      `tls-port ${settings.tls.port}`,
      `tls-cert-file "${settings.tls.certPath}"`,
      `tls-key-file "${settings.tls.keyPath}"`,
      `tls-ca-cert-file "${settings.tls.caPath}"`,
      // Azure Cache for Redis does not ask clients for certificates either.
      'tls-auth-clients no',
    );
  }
  if (settings.cluster) {
    if (!settings.tls) throw new Error('a Redis Cluster node needs TLS settings');
    const cluster = settings.cluster;
    lines.push(
      'cluster-enabled yes',
      // Relative to `dir`: each node's own folder, kept across restartNode() so it rejoins as itself.
      'cluster-config-file nodes.conf',
      `cluster-port ${cluster.busPort}`,
      `cluster-node-timeout ${cluster.nodeTimeoutMs}`,
      'cluster-announce-ip 127.0.0.1',
      // Node to node over TLS with the local CA, as Azure Managed Redis's shards are: the bus and
      // replication present tls-cert-file as a client certificate (it carries clientAuth).
      'tls-cluster yes',
      'tls-replication yes',
      `masteruser ${cluster.replicationUser}`,
      // In plain text in this 0600 file: redis.conf has no hashed form for it. The user may only
      // replicate (see replicationUserRules), and the password lives as long as the cluster.
      `masterauth ${cluster.replicationPassword}`,
      // A replica takes over a failed master however long it was cut off: throwaway data, and a
      // shard without a master would leave its slots uncovered.
      'cluster-replica-validity-factor 0',
      // Redis waits 5 s by default for more replicas before a diskless full sync; with one replica
      // per master that is 5 s of every start, failover and restart spent waiting for nobody.
      'repl-diskless-sync-delay 0',
    );
  }
  return `${lines.join('\n')}\n`;
}
