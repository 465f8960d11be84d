import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisInstance, startRedis } from '../src/index.js';
import { authenticate, connectAs, openUnauthenticated, tryAuth, userOf } from './support/redis-clients.js';

describe('Redis ACL password authentication', () => {
  let instance: RedisInstance;

  beforeAll(async () => {
    instance = await startRedis({
      users: [
        { name: 'app', password: 'app-password' },
        { name: 'worker', password: 'worker-password' },
      ],
    });
  });

  afterAll(async () => {
    await instance?.stop();
  });

  it('runs on a private loopback port, not the shared 6379', () => {
    expect(instance.host).toBe('127.0.0.1');
    expect(instance.port).not.toBe(6379);
    expect(instance.tlsPort).toBeUndefined();
  });

  it('accepts an ACL user with its password, as ioredis connects', async () => {
    const client = await connectAs(instance.port, 'app', 'app-password');
    try {
      expect(await client.set('greeting', 'hello')).toBe('OK');
      expect(await client.get('greeting')).toBe('hello');
      expect(await userOf(client)).toBe('app');
    } finally {
      client.disconnect();
    }
  });

  it('refuses a wrong password or unknown user with WRONGPASS', async () => {
    expect(await tryAuth(instance.port, 'app', 'not-the-password')).toBe('WRONGPASS');
    expect(await tryAuth(instance.port, 'nobody', 'app-password')).toBe('WRONGPASS');
    await expect(connectAs(instance.port, 'app', 'not-the-password')).rejects.toThrow(/WRONGPASS/);
  });

  it('has no usable default user: nothing works before AUTH', async () => {
    const client = await openUnauthenticated(instance.port);
    try {
      await expect(client.ping()).rejects.toThrow(/NOAUTH/);
      expect(await authenticate(client, 'default', '')).toBe('WRONGPASS');
    } finally {
      client.disconnect();
    }
  });

  it('rotates a password: new AUTH needs the new one, authenticated connections keep working', async () => {
    const authenticatedBefore = await connectAs(instance.port, 'worker', 'worker-password');
    try {
      const rotated = await instance.rotatePassword('worker');
      expect(rotated).not.toBe('worker-password');
      expect(await tryAuth(instance.port, 'worker', 'worker-password')).toBe('WRONGPASS');
      expect(await tryAuth(instance.port, 'worker', rotated)).toBe('OK');
      expect(await authenticatedBefore.ping()).toBe('PONG');
      expect(await instance.rotatePassword('worker', 'chosen-password')).toBe('chosen-password');
      expect(await tryAuth(instance.port, 'worker', rotated)).toBe('WRONGPASS');
      expect(await tryAuth(instance.port, 'worker', 'chosen-password')).toBe('OK');
    } finally {
      authenticatedBefore.disconnect();
    }
  });

  it('refuses to rotate a user it does not manage', async () => {
    await expect(instance.rotatePassword('nobody')).rejects.toThrow(/no Redis password user/);
  });

  it('never shows a password when the instance is printed', () => {
    expect(inspect(instance)).toBe(`RedisInstance { host: '127.0.0.1', port: ${instance.port} }`);
    expect(JSON.stringify(instance)).toBe(JSON.stringify({ host: '127.0.0.1', port: instance.port }));
  });
});
