import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startRedis } from '../src/index.js';
import { findRedisServer } from '../src/processes/binary-lookup.js';
import { isPortFree } from '../src/processes/free-port.js';
import { MissingBinaryError, ServerStartError } from '../src/processes/launcher-errors.js';
import { foldersLeftBy } from './support/keyless-folders.js';
import { findListeningProcess, processIsGone } from './support/listening-process.js';
import { connectAs, tryAuth } from './support/redis-clients.js';

describe('Redis process lifecycle', () => {
  it('names the Debian package when redis-server is missing', () => {
    const lookUp = () => findRedisServer({ pathFolders: ['/nonexistent/bin'] });
    expect(lookUp).toThrow(MissingBinaryError);
    expect(lookUp).toThrow(/apt-get install -y redis-server/);
  });

  it('fails with the server log when the requested port is taken, and leaves nothing behind', async () => {
    const blocker = createServer().listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const port = (blocker.address() as AddressInfo).port;
    try {
      let failure: unknown;
      const left = await foldersLeftBy('redis', async () => {
        failure = await startRedis({ port }).then(
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

  it('restarts on the same port with users and rotated passwords kept', async () => {
    const instance = await startRedis({ users: [{ name: 'app', password: 'app-password' }] });
    try {
      const rotated = await instance.rotatePassword('app');
      const portBefore = instance.port;

      await instance.restart();

      expect(instance.port).toBe(portBefore);
      expect(await tryAuth(instance.port, 'app', rotated)).toBe('OK');
      expect(await tryAuth(instance.port, 'app', 'app-password')).toBe('WRONGPASS');
      expect(await tryAuth(instance.port, 'default', '')).toBe('WRONGPASS');
    } finally {
      await instance.stop();
    }
  });

  it('stores only password hashes on disk', async () => {
    const instance = await startRedis({ users: [{ name: 'app', password: 'plain-app-password' }] });
    try {
      const folder = findListeningProcess(instance.port)?.cwd ?? '';
      const aclFile = readFileSync(`${folder}/users.acl`, 'utf8');
      expect(aclFile).toMatch(/^user app on #[0-9a-f]{64} /m);
      expect(aclFile).not.toContain('plain-app-password');
    } finally {
      await instance.stop();
    }
  });

  it('stop() leaves no process, port or folder, and is idempotent', async () => {
    const instance = await startRedis({ users: [{ name: 'app', password: 'app-password' }] });
    const server = findListeningProcess(instance.port);
    expect(server?.cwd).toMatch(/keyless-redis-/);
    const client = await connectAs(instance.port, 'app', 'app-password');

    await Promise.all([instance.stop(), instance.stop()]);
    await instance.stop();
    client.disconnect();

    expect(processIsGone(server?.pid ?? 0)).toBe(true);
    expect(await isPortFree(instance.port)).toBe(true);
    expect(existsSync(server?.cwd ?? '/')).toBe(false);
    await expect(instance.rotatePassword('app')).rejects.toThrow(/stopped/);
  });
});
