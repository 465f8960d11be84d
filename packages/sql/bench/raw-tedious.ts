// Raw tedious as the benches compare keyless with it: a connection logged in with a static token,
// one request the way an application writes it, and the least a hand-made pool needs; and the local
// SQL endpoint they all run against. One copy for sql.bench.ts, profile-query-path.ts and
// query-path-ab.ts, so that all three measure the same raw against the same set-up.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTokenProvider, type TokenProvider } from '@keyless/core';
import { type LocalAzure, type StackProgressListener, startLocalAzure } from '@keyless/local-azure';
import { Connection, Request } from 'tedious';

/** Where the local SQL endpoint listens, and the CA it is trusted with. */
export interface RawTarget {
  server: string;
  port: number;
  database: string;
  ca: string;
}

/** The local stack with its SQL endpoint, its address, a provider for the app identity and one token. */
export interface LocalSql {
  stack: LocalAzure;
  target: RawTarget;
  tokens: TokenProvider;
  /** A token for Azure SQL, fetched once: what the raw contenders log in with. */
  token: string;
  stop(): Promise<void>;
}

/** Starts the SQL endpoint in this process (its environment exported, as an app would see it). */
export async function startLocalSql(
  folderPrefix: string,
  onProgress?: StackProgressListener,
): Promise<LocalSql> {
  const stateFolder = mkdtempSync(join(tmpdir(), folderPrefix));
  const stack = await startLocalAzure({
    services: ['sql'],
    stateFolder,
    ...(onProgress ? { onProgress } : {}),
  });
  Object.assign(process.env, stack.env);
  const target: RawTarget = {
    server: stack.env.KEYLESS_SQL_SERVER as string,
    port: Number(stack.env.KEYLESS_SQL_PORT),
    database: stack.env.KEYLESS_SQL_DATABASE as string,
    ca: stack.ca.caCertificate,
  };
  const tokens = createTokenProvider({ identity: { clientId: stack.appIdentity.clientId } });
  const token = (await tokens.getToken('https://database.windows.net/.default')).token;
  return {
    stack,
    target,
    tokens,
    token,
    async stop() {
      await tokens.close();
      await stack.stop();
      rmSync(stateFolder, { recursive: true, force: true });
    },
  };
}

/** One connection, logged in with `token` (fetched once by the bench: no identity work per login). */
export function openRawConnection(target: RawTarget, token: string): Promise<Connection> {
  const connection = new Connection({
    server: target.server,
    authentication: { type: 'azure-active-directory-access-token', options: { token } },
    options: {
      port: target.port,
      database: target.database,
      encrypt: true,
      cryptoCredentialsDetails: { ca: target.ca },
    },
  });
  connection.on('error', () => {});
  return new Promise((resolve, reject) =>
    connection.connect((error) => (error ? reject(error) : resolve(connection))),
  );
}

/** One batch, its rows collected as arrays of values. */
export function rawQuery(connection: Connection, statement = 'SELECT 1'): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const rows: unknown[] = [];
    const request = new Request(statement, (error) => (error ? reject(error) : resolve(rows)));
    request.on('row', (columns: { value: unknown }[]) => rows.push(columns.map((column) => column.value)));
    connection.execSqlBatch(request);
  });
}

/** The least a hand-made pool needs over `free`: a free list and a wait queue (no validation, no lifetime). */
export function minimalPool(free: Connection[]) {
  const all = [...free];
  const waiting: ((connection: Connection) => void)[] = [];
  return {
    async run<T>(work: (connection: Connection) => Promise<T>): Promise<T> {
      const connection = free.pop() ?? (await new Promise<Connection>((resolve) => waiting.push(resolve)));
      try {
        return await work(connection);
      } finally {
        const next = waiting.shift();
        if (next) next(connection);
        else free.push(connection);
      }
    },
    close() {
      for (const connection of all) connection.close();
    },
  };
}
