import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startPostgres } from '../src/index.js';
import { findPostgresBinFolder } from '../src/processes/binary-lookup.js';
import { isPortFree } from '../src/processes/free-port.js';
import { MissingBinaryError, ServerStartError } from '../src/processes/launcher-errors.js';
import { foldersLeftBy } from './support/keyless-folders.js';
import { findListeningProcess, processIsGone } from './support/listening-process.js';
import { openSession, tryLogin } from './support/postgres-clients.js';

describe('PostgreSQL process lifecycle', () => {
  it('finds the versioned Debian binaries before PATH wrappers', () => {
    expect(findPostgresBinFolder()).toMatch(/^\/usr\/lib\/postgresql\/\d+\/bin$/);
  });

  it('names the Debian package when the binaries are missing', () => {
    const lookUp = () =>
      findPostgresBinFolder({ debianPostgresRoot: '/nonexistent', pathFolders: ['/nonexistent/bin'] });
    expect(lookUp).toThrow(MissingBinaryError);
    expect(lookUp).toThrow(/apt-get install -y postgresql/);
  });

  it('fails with the server log when the requested port is taken, and leaves nothing behind', async () => {
    const blocker = createServer().listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const port = (blocker.address() as AddressInfo).port;
    try {
      let failure: unknown;
      const left = await foldersLeftBy('postgres', async () => {
        failure = await startPostgres({ port }).then(
          () => undefined,
          (error: unknown) => error,
        );
      });
      expect(failure).toBeInstanceOf(ServerStartError);
      expect((failure as Error).message).toMatch(/Address already in use/);
      expect(left).toEqual([]);
    } finally {
      blocker.close();
    }
  });

  it('restarts on the same port with data, roles and passwords kept; open sessions see the restart', async () => {
    const instance = await startPostgres({ users: [{ name: 'app', password: 'app-password' }] });
    try {
      await instance.query('CREATE TABLE kept (value text)');
      await instance.query("INSERT INTO kept VALUES ('survives')");
      const rotated = await instance.rotatePassword('app');
      const session = await openSession(instance, 'app', rotated);
      const sessionError = new Promise<Error>((resolve) => session.once('error', resolve));
      const portBefore = instance.port;

      await instance.restart();

      expect(instance.port).toBe(portBefore);
      expect(await instance.query('SELECT value FROM kept')).toEqual([{ value: 'survives' }]);
      expect(await tryLogin(instance, 'app', rotated)).toBe('app');
      expect(await tryLogin(instance, 'app', 'app-password')).toBe('28P01');
      // A server restart ends every session (SQLSTATE 57P01, admin shutdown), as a failover does.
      expect(((await sessionError) as { code?: string }).code).toBe('57P01');
      await session.end().catch(() => {});
    } finally {
      await instance.stop();
    }
  });

  it('stop() leaves no process, port or folder, and is idempotent', async () => {
    const instance = await startPostgres();
    const server = findListeningProcess(instance.port);
    expect(server).toBeDefined();
    const folder = server?.cwd.replace(/\/data$/, '') ?? '';
    expect(folder).toMatch(/keyless-postgres-/);
    expect(existsSync(folder)).toBe(true);

    await Promise.all([instance.stop(), instance.stop()]);
    await instance.stop();

    expect(processIsGone(server?.pid ?? 0)).toBe(true);
    expect(await isPortFree(instance.port)).toBe(true);
    expect(existsSync(folder)).toBe(false);
    await expect(instance.query('SELECT 1')).rejects.toThrow(/stopped/);
  });

  it('runs the server unprivileged even when we are root', async () => {
    const instance = await startPostgres();
    try {
      const [row] = (await instance.query('SELECT current_setting($1) AS value', ['data_directory'])) as {
        value: string;
      }[];
      expect(row?.value).toMatch(/keyless-postgres-.*\/data$/);
      const server = findListeningProcess(instance.port);
      const { readFileSync } = await import('node:fs');
      const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${server?.pid}/status`, 'utf8'))?.[1];
      expect(uid === '0').toBe(false);
    } finally {
      await instance.stop();
    }
  });
});
