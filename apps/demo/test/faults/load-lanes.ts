import type { ResourceConfig } from '../../src/config.ts';
import type { ConnectorSet } from '../../src/connectors.ts';
import type { LoadLane } from './load-generator.ts';

export interface LaneOptions {
  /** The Key Vault card's secret source refreshes this often, so a vault fault reaches it. */
  secretRefreshIntervalMs: number;
}

/**
 * What the demo's cards do, on one connector set: blob upload and download, the secret read
 * through the cached secret source (the card never calls getSecret directly), `SELECT
 * SUSER_SNAME()`, the PostgreSQL card's query and `INCR`. Each checks its answer, so a wrong
 * result counts as a failure too.
 */
export function loadLanes(
  connectors: ConnectorSet,
  resources: ResourceConfig,
  options: LaneOptions,
): LoadLane[] {
  const { blob, keyVault, sql, postgres, redis, backend } = connectors;
  const container = blob.containerClient(resources.blob.container);
  const blobName = `faults-${backend}.txt`;
  const content = `written under load by the ${backend} connector set`;
  const secret = keyVault.secret(resources.keyVault.secretName, {
    refreshIntervalMs: options.secretRefreshIntervalMs,
  });
  const counterKey = `keyless-faults:${backend}:counter`;
  return [
    {
      kind: 'blob-upload',
      backend,
      run: () =>
        blob.run(() => container.getBlockBlobClient(blobName).upload(content, Buffer.byteLength(content))),
    },
    {
      kind: 'blob-download',
      backend,
      run: async () => {
        // The seeded blob: it exists from the start, whatever the upload lane is doing.
        const buffer = await blob.run(() => container.getBlobClient('hello.txt').downloadToBuffer());
        expectThat(buffer.length > 0, 'downloaded an empty blob');
      },
    },
    {
      kind: 'secret-read',
      backend,
      run: async () => expectThat((await secret.get()).length > 0, 'read an empty secret'),
    },
    {
      kind: 'sql-whoami',
      backend,
      run: async () => {
        const [row] = await sql.query<{ login: string }>('SELECT SUSER_SNAME() AS login');
        expectThat(typeof row?.login === 'string' && row.login.length > 0, 'SUSER_SNAME() was empty');
      },
    },
    {
      kind: 'postgres-query',
      backend,
      run: async () => {
        const result = await postgres.query<{ user: string }>('SELECT current_user AS "user"');
        expectThat(result.rows[0]?.user === resources.postgres.user, 'logged in as another user');
      },
    },
    {
      kind: 'redis-incr',
      backend,
      run: async () => expectThat((await redis.client.incr(counterKey)) > 0, 'INCR answered ≤ 0'),
    },
  ];
}

function expectThat(condition: boolean, message: string): void {
  if (!condition) throw new Error(`wrong answer: ${message}`);
}
