/**
 * What an application's Redis user may do: one of Azure Cache for Redis's built-in access policies
 * (Data Owner, Data Contributor, Data Reader), minus the commands Azure disables for every user.
 * This module is the one place the rules live.
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

/** The name of a built-in access policy, as `az redis access-policy-assignment create --access-policy-name` takes it. */
export type RedisAccessPolicyName = 'Data Owner' | 'Data Contributor' | 'Data Reader';

export const redisAccessPolicyNames: readonly RedisAccessPolicyName[] = [
  'Data Owner',
  'Data Contributor',
  'Data Reader',
];

const policyByName: Record<RedisAccessPolicyName, string> = {
  'Data Owner': builtInAccessPolicies.dataOwner,
  'Data Contributor': builtInAccessPolicies.dataContributor,
  'Data Reader': builtInAccessPolicies.dataReader,
};

/** Refuses a name that is not a built-in policy, naming the three. */
export function assertAccessPolicyName(name: unknown, option: string): asserts name is RedisAccessPolicyName {
  if (!redisAccessPolicyNames.includes(name as RedisAccessPolicyName)) {
    throw new RangeError(
      `startRedis: \`${option}\` must be one of ${redisAccessPolicyNames.map((policy) => `'${policy}'`).join(', ')} (Azure's built-in access policies), got ${JSON.stringify(name)}`,
    );
  }
}

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

/** The rules of an application user (password or Entra) under a built-in policy; Data Owner by default. */
export function applicationUserRules(
  version: RedisVersion,
  policy: RedisAccessPolicyName = 'Data Owner',
): string[] {
  return accessPolicyRules(policyByName[policy], version);
}

/**
 * The launcher's own user (adds token hashes, rotates passwords): everything. Its password lives
 * only in the launcher's memory, and no application user may run ACL, so none can change or
 * disable it.
 */
export const adminUserRules = ['~*', '&*', '+@all'] as const;
