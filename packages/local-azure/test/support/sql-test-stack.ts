import { fileURLToPath } from 'node:url';
import { ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { Connection, type ConnectionConfiguration, Request, TYPES } from 'tedious';
import {
  ensureLocalCertificateAuthority,
  type IdentityEndpoint,
  type IdentityEndpointOptions,
  type LocalCertificateAuthority,
  startIdentityEndpoint,
} from '../../src/index.js';
import { type SqlEndpoint, type SqlEndpointOptions, startSqlEndpoint } from '../../src/sql/sql-endpoint.js';

export const sqlScope = 'https://database.windows.net/.default';
export const stateFolder = fileURLToPath(new URL('../../test-output/state', import.meta.url));

export type EncryptMode = true | 'strict';
export type AuthenticationKind = 'access-token' | 'token-credential';

export interface SqlTestStack {
  authority: LocalCertificateAuthority;
  identity: IdentityEndpoint;
  sql: SqlEndpoint;
  /** The user-assigned identity, registered as a database user. */
  appIdentity: { name: string; objectId: string; clientId: string };
  credential: ManagedIdentityCredential;
  stop(): Promise<void>;
}

/** CA, identity endpoint (App Service protocol, set in the environment), SQL endpoint. */
export async function startSqlTestStack(
  overrides: Partial<SqlEndpointOptions> = {},
  identityOptions: IdentityEndpointOptions = {},
): Promise<SqlTestStack> {
  const authority = await ensureLocalCertificateAuthority(stateFolder);
  const identity = await startIdentityEndpoint(identityOptions);
  Object.assign(process.env, identity.appServiceEnvironment());
  const app = identity.userAssigned[0];
  if (app === undefined) throw new Error('the identity endpoint has no user-assigned identity');
  const sql = await startSqlEndpoint({
    tokenVerifier: identity,
    tls: { cert: authority.serverCertificate, key: authority.serverKey },
    principals: [{ name: app.name, objectId: app.objectId }],
    ...overrides,
  });
  return {
    authority,
    identity,
    sql,
    appIdentity: { name: app.name, objectId: app.objectId, clientId: app.clientId },
    credential: new ManagedIdentityCredential({ clientId: app.clientId }),
    async stop() {
      await sql.stop();
      await identity.stop();
    },
  };
}

export type TediousAuthentication = ConnectionConfiguration['authentication'];

export function accessTokenAuthentication(token: string): TediousAuthentication {
  return { type: 'azure-active-directory-access-token', options: { token } };
}

export function tokenCredentialAuthentication(credential: TokenCredential): TediousAuthentication {
  return { type: 'token-credential', options: { credential } };
}

/** The exact client configuration the README documents: TLS verified against the local CA. */
export function tediousConfiguration(
  stack: SqlTestStack,
  encrypt: EncryptMode,
  authentication: TediousAuthentication,
): ConnectionConfiguration {
  return {
    server: stack.sql.host,
    authentication,
    options: {
      port: stack.sql.port,
      database: stack.sql.database,
      encrypt,
      cryptoCredentialsDetails: { ca: stack.authority.caCertificate },
      connectTimeout: 10_000,
      requestTimeout: 10_000,
    },
  };
}

export interface ConnectOutcome {
  connection: Connection;
  infoMessages: string[];
}

export interface ServerError {
  number: number;
  state: number;
  class: number;
  message: string;
}

/** A refused login: tedious's error, and the ERROR tokens the server sent with it. */
export class LoginRefused extends Error {
  constructor(
    readonly clientError: Error & { code?: string },
    readonly serverErrors: ServerError[],
  ) {
    super(clientError.message);
  }
}

export function connect(configuration: ConnectionConfiguration): Promise<ConnectOutcome> {
  const connection = new Connection(configuration);
  const infoMessages: string[] = [];
  const serverErrors: ServerError[] = [];
  connection.on('infoMessage', (info) => infoMessages.push(info.message));
  connection.on('errorMessage', (error) =>
    serverErrors.push({
      number: error.number,
      state: error.state,
      class: error.class,
      message: error.message,
    }),
  );
  return new Promise((resolve, reject) => {
    connection.connect((error) => {
      if (error) {
        connection.close();
        reject(new LoginRefused(error, serverErrors));
      } else {
        resolve({ connection, infoMessages });
      }
    });
  });
}

/** Connects expecting a refusal, and returns it. */
export async function refusedLogin(configuration: ConnectionConfiguration): Promise<LoginRefused> {
  try {
    const { connection } = await connect(configuration);
    await close(connection);
  } catch (error) {
    if (error instanceof LoginRefused) return error;
    throw error;
  }
  throw new Error('the login was accepted');
}

/** A token straight from the App Service protocol, for any resource spelling. */
export async function fetchToken(
  identity: IdentityEndpoint,
  resource: string,
  clientId?: string,
): Promise<string> {
  const environment = identity.appServiceEnvironment();
  const url = new URL(environment.IDENTITY_ENDPOINT ?? '');
  url.searchParams.set('api-version', '2019-08-01');
  url.searchParams.set('resource', resource);
  if (clientId !== undefined) url.searchParams.set('client_id', clientId);
  const response = await fetch(url, { headers: { 'X-IDENTITY-HEADER': environment.IDENTITY_HEADER ?? '' } });
  if (!response.ok) throw new Error(`token request failed with ${response.status}`);
  const body = (await response.json()) as { access_token: string };
  return body.access_token;
}

export async function authenticationFor(
  stack: SqlTestStack,
  kind: AuthenticationKind,
): Promise<TediousAuthentication> {
  if (kind === 'token-credential') return tokenCredentialAuthentication(stack.credential);
  const accessToken = await stack.credential.getToken(sqlScope);
  return accessTokenAuthentication(accessToken.token);
}

export type Row = Record<string, unknown>;

/** What tedious's 'row' event carries per column (it types the event argument as `any`). */
interface ColumnValue {
  metadata: { colName: string };
  value: unknown;
}

export interface QueryParameter {
  name: string;
  type: 'Int' | 'NVarChar';
  value: number | string | null;
}

/** Runs a statement (sp_executesql when there are parameters) and returns its rows by column name. */
export function query(
  connection: Connection,
  sql: string,
  parameters: QueryParameter[] = [],
): Promise<Row[]> {
  return new Promise((resolve, reject) => {
    const rows: Row[] = [];
    const request = new Request(sql, (error) => (error ? reject(error) : resolve(rows)));
    for (const parameter of parameters)
      request.addParameter(parameter.name, TYPES[parameter.type], parameter.value);
    request.on('row', (columns: ColumnValue[]) => {
      const row: Row = {};
      columns.forEach((column, index) => {
        row[column.metadata.colName || `column${index}`] = column.value;
      });
      rows.push(row);
    });
    if (parameters.length > 0) connection.execSql(request);
    else connection.execSqlBatch(request);
  });
}

export function close(connection: Connection): Promise<void> {
  return new Promise((resolve) => {
    if (connection.closed) {
      resolve();
      return;
    }
    connection.once('end', () => resolve());
    connection.close();
  });
}
