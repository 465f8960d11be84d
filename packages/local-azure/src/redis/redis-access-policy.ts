/**
 * What an application's Redis user may do: Azure Cache for Redis's built-in **Data Owner** access
 * policy, minus the commands Azure disables for every user. This module is the one place the
 * rules live; Data Contributor and Data Reader are listed for when they are modelled too.
 */

/**
 * The built-in access policies as Azure defines them (`az redis access-policy list`; described at
 * https://learn.microsoft.com/azure/azure-cache-for-redis/cache-configure-role-based-access-control).
 */
export const builtInAccessPolicies = {
  dataOwner: '+@all allkeys',
  dataContributor: '+@all -@dangerous +cluster|info +cluster|nodes +cluster|slots allkeys',
  dataReader: '+@read +@connection +cluster|info +cluster|nodes +cluster|slots allkeys',
} as const;

/**
 * "Configuration and management of Azure Cache for Redis instances is managed by Microsoft, which
 * disables the following commands" — for every user, whatever its policy
 * (https://learn.microsoft.com/azure/azure-cache-for-redis/cache-configure#redis-commands-not-supported-in-azure-cache-for-redis).
 * CLUSTER is listed there with "Cluster write commands are disabled, but read-only cluster
 * commands are permitted": see `readOnlyClusterSubcommands`.
 */
export const commandsAzureDisables = [
  'acl',
  'bgrewriteaof',
  'bgsave',
  'config',
  'debug',
  'migrate',
  'psync',
  'replicaof',
  'replconf',
  'save',
  'shutdown',
  'slaveof',
  'sync',
] as const;

/**
 * Not in Azure's list, blocked here too: they reconfigure the server itself, which Microsoft runs
 * (MODULE LOAD would run any shared library as the developer's own user). FAILOVER exists from
 * Redis 6.2 on; an ACL rule naming a command the server does not know stops it from starting.
 */
const alsoBlockedLocally = ['module'] as const;
const alsoBlockedFromRedis62 = ['failover'] as const;

/** CLUSTER subcommands that only read (all exist in Redis 6.0). */
const readOnlyClusterSubcommands = [
  'info',
  'nodes',
  'slots',
  'myid',
  'keyslot',
  'countkeysinslot',
  'getkeysinslot',
  'replicas',
  'slaves',
  'count-failure-reports',
] as const;

/** `major.minor` of the redis-server that will load the rules. */
export interface RedisVersion {
  major: number;
  minor: number;
}

/**
 * The ACL rules of a policy: its Azure string (`allkeys` spelled `~*`), every pub/sub channel
 * (Azure's Redis 6 allows all channels by default; Redis 7 allows none unless told), then the
 * commands Azure disables.
 */
export function accessPolicyRules(policy: string, version: RedisVersion): string[] {
  const rules = policy.split(' ').map((rule) => (rule === 'allkeys' ? '~*' : rule));
  const blocked = [
    ...commandsAzureDisables,
    ...alsoBlockedLocally,
    ...(version.major > 6 || (version.major === 6 && version.minor >= 2) ? alsoBlockedFromRedis62 : []),
  ];
  return [
    ...rules,
    '&*',
    ...blocked.map((command) => `-${command}`),
    '-cluster',
    ...readOnlyClusterSubcommands.map((subcommand) => `+cluster|${subcommand}`),
  ];
}

/** The rules of every application user, password and Entra alike. */
export function applicationUserRules(version: RedisVersion): string[] {
  return accessPolicyRules(builtInAccessPolicies.dataOwner, version);
}

/**
 * The launcher's own user (adds token hashes, rotates passwords): everything. Its password lives
 * only in the launcher's memory, and no application user may run ACL, so none can change or
 * disable it.
 */
export const adminUserRules = ['~*', '&*', '+@all'] as const;
