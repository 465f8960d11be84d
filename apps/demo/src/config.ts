import { tokenBackendNames } from '@keyless/core';
import { z } from 'zod';

export type Environment = Readonly<Record<string, string | undefined>>;

export const demoModes = ['local', 'azure'] as const;
export type DemoMode = (typeof demoModes)[number];
export type BackendName = (typeof tokenBackendNames)[number];

/** A bad or missing variable. The message names the variable and never echoes its value. */
export class DemoConfigurationError extends Error {
  override readonly name = 'DemoConfigurationError';
  constructor(
    readonly variables: readonly string[],
    message: string,
  ) {
    super(message);
  }
}

const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((value) => (value === '' ? undefined : value));
const requiredText = (what: string) =>
  z
    .string({ error: `required: ${what}` })
    .trim()
    .min(1, `required: ${what}`);
const port = (fallback: number) => z.coerce.number().int().min(0).max(65_535).default(fallback);
const httpsUrl = (what: string) =>
  requiredText(what).pipe(z.url({ protocol: /^https$/, error: `must be an https URL (${what})` }));

/** What the process needs before anything else: how to run and where to listen. */
const processSchema = z.object({
  KEYLESS_DEMO_MODE: z.enum(demoModes).default('local'),
  KEYLESS_TOKEN_PROVIDER: z.enum(tokenBackendNames).default('azure-identity'),
  HOST: z.string().trim().min(1).default('127.0.0.1'),
  PORT: port(0),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  KEYLESS_DEMO_STATE_FOLDER: z.string().trim().min(1).default('.keyless-local'),
  // Local mode: how long the stack's tokens live. Azure's 24 h by default; a few minutes make the
  // dashboard's token timeline show background refreshes (and failed ones during an outage).
  KEYLESS_DEMO_TOKEN_LIFETIME_SECONDS: z.coerce.number().int().min(60).max(86_400).default(86_400),
});

/** The Azure resources; in local mode the stack provides them (the same names keyless-local prints). */
const resourceSchema = z.object({
  KEYLESS_BLOB_ACCOUNT_URL: httpsUrl('the storage account blob endpoint'),
  KEYLESS_DEMO_BLOB_CONTAINER: z.string().trim().min(3).default('keyless-demo'),
  KEYLESS_KEYVAULT_URL: httpsUrl('the Key Vault URI'),
  KEYLESS_DEMO_SECRET_NAME: z.string().trim().min(1).default('demo-message'),
  KEYLESS_SQL_SERVER: requiredText('the Azure SQL server host name'),
  KEYLESS_SQL_PORT: port(1433),
  KEYLESS_SQL_DATABASE: requiredText('the Azure SQL database'),
  KEYLESS_POSTGRES_HOST: requiredText('the PostgreSQL server host name'),
  KEYLESS_POSTGRES_PORT: port(5432),
  KEYLESS_POSTGRES_DATABASE: requiredText('the PostgreSQL database'),
  KEYLESS_POSTGRES_USER: requiredText('the PostgreSQL user whose password is in Key Vault'),
  KEYLESS_POSTGRES_PASSWORD_SECRET: requiredText('the Key Vault secret holding the PostgreSQL password'),
  KEYLESS_REDIS_HOST: requiredText('the Redis host name'),
  KEYLESS_REDIS_TLS_PORT: optionalText,
  KEYLESS_REDIS_PORT: optionalText,
  KEYLESS_REDIS_USER: optionalText,
  KEYLESS_REDIS_PASSWORD_SECRET: requiredText('the Key Vault secret holding the Redis password'),
  AZURE_CLIENT_ID: optionalText,
});

export interface ProcessConfig {
  mode: DemoMode;
  backend: BackendName;
  host: string;
  port: number;
  logLevel: string;
  stateFolder: string;
  /** Local mode: the lifetime of the tokens the stack's identity endpoint mints. */
  tokenLifetimeSeconds: number;
}

export interface ResourceConfig {
  blob: { accountUrl: string; container: string };
  keyVault: { vaultUrl: string; secretName: string };
  sql: { server: string; port: number; database: string };
  postgres: { host: string; port: number; database: string; user: string; passwordSecret: string };
  redis: { host: string; port: number; user: string | undefined; passwordSecret: string };
  clientId: string | undefined;
}

function parse<Schema extends z.ZodType>(schema: Schema, environment: Environment): z.output<Schema> {
  const result = schema.safeParse(environment);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => ({
    variable: String(issue.path[0] ?? 'environment'),
    message: issue.message,
  }));
  throw new DemoConfigurationError(
    problems.map((problem) => problem.variable),
    `invalid configuration: ${problems.map((problem) => `${problem.variable}: ${problem.message}`).join('; ')}`,
  );
}

export function loadProcessConfig(environment: Environment = process.env): ProcessConfig {
  const parsed = parse(processSchema, environment);
  return {
    mode: parsed.KEYLESS_DEMO_MODE,
    backend: parsed.KEYLESS_TOKEN_PROVIDER,
    host: parsed.HOST,
    port: parsed.PORT,
    logLevel: parsed.LOG_LEVEL,
    stateFolder: parsed.KEYLESS_DEMO_STATE_FOLDER,
    tokenLifetimeSeconds: parsed.KEYLESS_DEMO_TOKEN_LIFETIME_SECONDS,
  };
}

export function loadResourceConfig(environment: Environment = process.env): ResourceConfig {
  const parsed = parse(resourceSchema, environment);
  // Azure Cache for Redis takes TLS on 6380; the local stack names its TLS port separately.
  const redisPort = Number(parsed.KEYLESS_REDIS_TLS_PORT ?? parsed.KEYLESS_REDIS_PORT ?? 6380);
  if (!Number.isInteger(redisPort) || redisPort <= 0 || redisPort > 65_535) {
    throw new DemoConfigurationError(
      ['KEYLESS_REDIS_TLS_PORT', 'KEYLESS_REDIS_PORT'],
      'invalid configuration: KEYLESS_REDIS_TLS_PORT / KEYLESS_REDIS_PORT: must be a port number',
    );
  }
  return {
    blob: { accountUrl: parsed.KEYLESS_BLOB_ACCOUNT_URL, container: parsed.KEYLESS_DEMO_BLOB_CONTAINER },
    keyVault: { vaultUrl: parsed.KEYLESS_KEYVAULT_URL, secretName: parsed.KEYLESS_DEMO_SECRET_NAME },
    sql: {
      server: parsed.KEYLESS_SQL_SERVER,
      port: parsed.KEYLESS_SQL_PORT,
      database: parsed.KEYLESS_SQL_DATABASE,
    },
    postgres: {
      host: parsed.KEYLESS_POSTGRES_HOST,
      port: parsed.KEYLESS_POSTGRES_PORT,
      database: parsed.KEYLESS_POSTGRES_DATABASE,
      user: parsed.KEYLESS_POSTGRES_USER,
      passwordSecret: parsed.KEYLESS_POSTGRES_PASSWORD_SECRET,
    },
    redis: {
      host: parsed.KEYLESS_REDIS_HOST,
      port: redisPort,
      user: parsed.KEYLESS_REDIS_USER,
      passwordSecret: parsed.KEYLESS_REDIS_PASSWORD_SECRET,
    },
    clientId: parsed.AZURE_CLIENT_ID,
  };
}
