/**
 * The two Azure services a Redis host can belong to. They grant an Entra identity access in
 * different ways, so a hint must name the command of the right one:
 *
 * - **Azure Cache for Redis** (`<cache>.redis.cache.windows.net`, TLS on 6380): data access
 *   policies — built-in "Data Owner", "Data Contributor", "Data Reader", or custom — assigned with
 *   `az redis access-policy-assignment create`
 *   (https://learn.microsoft.com/azure/azure-cache-for-redis/cache-configure-role-based-access-control,
 *   https://learn.microsoft.com/cli/azure/redis/access-policy-assignment).
 * - **Azure Managed Redis** (`<cache>.<region>.redis.azure.net`, TLS on 10000): one access policy,
 *   `default`, on the database `default`, assigned with
 *   `az redisenterprise database access-policy-assignment create`
 *   (https://learn.microsoft.com/azure/redis/entra-for-authentication,
 *   https://learn.microsoft.com/cli/azure/redisenterprise/database/access-policy-assignment;
 *   "Only "default" policy is supported for now":
 *   https://learn.microsoft.com/javascript/api/@azure/arm-redisenterprisecache/accesspolicyassignment).
 */
export type AzureRedisProduct = 'azure-cache-for-redis' | 'azure-managed-redis';

const cacheForRedisSuffix = '.redis.cache.windows.net';
const managedRedisSuffix = '.redis.azure.net';

/**
 * Chosen by the host name; a host under neither domain (a custom DNS name, a sovereign cloud) by
 * the product's TLS port — 6380 Azure Cache for Redis, 10000 Azure Managed Redis; otherwise
 * unknown (this machine, a self-hosted Redis), and hints name both commands.
 */
export function azureRedisProductOf(host: string, port: number): AzureRedisProduct | undefined {
  const name = host.toLowerCase().replace(/\.$/, '');
  if (name.endsWith(cacheForRedisSuffix)) return 'azure-cache-for-redis';
  if (name.endsWith(managedRedisSuffix)) return 'azure-managed-redis';
  if (port === 10_000) return 'azure-managed-redis';
  if (port === 6380) return 'azure-cache-for-redis';
  return undefined;
}

/** The cache's resource name: the first label of an Azure host name, else a placeholder. */
function cacheNameOf(host: string): string {
  const name = host.toLowerCase();
  if (!name.endsWith(cacheForRedisSuffix) && !name.endsWith(managedRedisSuffix)) return '<cache>';
  return host.split('.')[0] || '<cache>';
}

export interface AssignmentTarget {
  host: string;
  /** The identity's object (principal) id; a placeholder when unknown. */
  objectId: string | undefined;
}

/**
 * The Azure CLI command that gives the identity a data access policy on the cache:
 * `policy` for Azure Cache for Redis, `default` (the only one) for Azure Managed Redis.
 */
export function accessPolicyAssignmentCommand(
  product: AzureRedisProduct,
  target: AssignmentTarget,
  policy: 'Data Owner' | 'Data Contributor' = 'Data Contributor',
): string {
  const cache = cacheNameOf(target.host);
  const objectId = target.objectId ?? '<object-id>';
  return product === 'azure-cache-for-redis'
    ? `az redis access-policy-assignment create --name ${cache} --resource-group <group> --policy-assignment-name <assignment> --access-policy-name "${policy}" --object-id ${objectId} --object-id-alias <alias>`
    : `az redisenterprise database access-policy-assignment create --cluster-name ${cache} --resource-group <group> --database-name default --access-policy-assignment-name <assignment> --access-policy-name default --object-id ${objectId}`;
}

/** "On Azure Cache for Redis: … ; on Azure Managed Redis: …" — one product's text, or both. */
export function perProduct(
  product: AzureRedisProduct | undefined,
  text: (product: AzureRedisProduct) => string,
): string {
  if (product !== undefined) return text(product);
  return `on Azure Cache for Redis: ${text('azure-cache-for-redis')}; on Azure Managed Redis: ${text('azure-managed-redis')}`;
}
