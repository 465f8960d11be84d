import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { LocalAzure } from '@keyless/local-azure';
import { type AppIdentityStack, startAppIdentityStack } from '@keyless/testing';
import type { Redis } from 'ioredis';
import { expect } from 'vitest';

/** The local stack with Redis, as the app identity (Key Vault Secrets User, and the Entra ACL user). */
export type TestStack = AppIdentityStack;

export function startTestStack(): Promise<TestStack> {
  return startAppIdentityStack(['redis']);
}

export function connection(stack: LocalAzure) {
  return { host: stack.env.KEYLESS_REDIS_HOST, port: Number(stack.env.KEYLESS_REDIS_TLS_PORT), tls: true };
}

/** Concurrent INCR writers that count what succeeded and what failed, until stopped. */
export function startWriters(client: Redis, key: string, writers = 3) {
  const state = { running: true, successes: 0, failures: [] as string[] };
  const loops = Array.from({ length: writers }, async () => {
    while (state.running) {
      try {
        await client.incr(key);
        state.successes += 1;
      } catch (error) {
        await recordFailure(state.failures, error);
      }
    }
  });
  return {
    state,
    async stop() {
      state.running = false;
      await Promise.all(loops);
      return state;
    },
  };
}

/**
 * A writer's failed command: only its kind is kept (an ioredis error may carry a command's
 * arguments); then a turn of the event loop, since a client that rejects at once would otherwise
 * spin on microtasks alone, starving every timer.
 */
async function recordFailure(failures: string[], error: unknown): Promise<void> {
  failures.push(error instanceof Error ? `${error.name}: ${error.message}` : 'non-error');
  await new Promise((resume) => setImmediate(resume));
}

/** What the verifying writers need of a client: ioredis or node-redis, standalone or cluster. */
interface SetGetClient {
  set(key: string, value: string): Promise<unknown>;
  get(key: string): Promise<unknown>;
}

/**
 * Writers that each SET a key of their own and read it back, until stopped: a reply meant for
 * another command shows in `wrong`, a failed command in `failures` (its kind only). `stop()` waits up
 * to 10 s for them: a writer still waiting for a reply that never comes is left behind, and the
 * assertions say why.
 */
export function startVerifyingWriters(client: SetGetClient, keyPrefix: string, writers = 16) {
  const state = { running: true, verified: 0, wrong: [] as string[], failures: [] as string[] };
  const loops = Array.from({ length: writers }, async (_, writer) => {
    for (let index = 0; state.running; index += 1) {
      const key = `${keyPrefix}:${writer}:${index % 50}`;
      const value = `${writer}-${index}`;
      try {
        const set = await client.set(key, value);
        const read = await client.get(key);
        if (set !== 'OK' || read !== value)
          state.wrong.push(`SET ${String(set)}, GET ${String(read)} for ${value}`);
        else state.verified += 1;
      } catch (error) {
        await recordFailure(state.failures, error);
      }
    }
  });
  return {
    state,
    async stop() {
      state.running = false;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(loops),
        new Promise((resolve) => {
          timer = setTimeout(resolve, 10_000);
        }),
      ]);
      clearTimeout(timer);
      return state;
    },
  };
}

/**
 * The verifying writers' verdict after connections were dropped under them: no reply went to the
 * wrong command, and the only failures are commands in flight on a dropped socket (however Node
 * reports it). Logs the counts.
 */
export function expectOnlyDroppedInFlightFailures(
  state: { verified: number; wrong: string[]; failures: string[] },
  what: string,
): void {
  expect(state.wrong).toEqual([]);
  for (const failure of state.failures) {
    expect(failure).toMatch(/Socket closed unexpectedly|socket has been ended|ECONNRESET|EPIPE/);
  }
  console.log(`${what}: ${state.verified} writes verified, ${state.failures.length} in flight failed`);
}

/** Resolves once `condition` holds, polling; rejects after `timeoutMs` (a guard, not a speed assertion). */
export async function until(condition: () => boolean, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Drops the connection the way a network blip or failover would, without the at-least-once
 * ambiguity of a kill from outside: a connection that kills itself gets the replies of everything
 * the server ran before the kill, and ioredis re-sends (exactly once) what came after it.
 */
export async function dropOwnConnection(client: Redis): Promise<void> {
  const id = await client.client('ID');
  await client.call('CLIENT', 'KILL', 'ID', String(id), 'SKIPME', 'no').catch(() => {});
}

/** Outcome of a raw AUTH, as the first word of the server's answer: never the arguments. */
export async function rawAuth(client: Redis, username: string, password: string): Promise<string> {
  return client.call('AUTH', username, password).then(
    () => 'OK',
    (error: unknown) => (error instanceof Error ? (error.message.split(' ')[0] ?? '') : 'error'),
  );
}

/** Sets (or, for undefined, removes) variables of process.env; returns the undo. */
export function setEnvironment(variables: Record<string, string | undefined>): () => void {
  const saved = Object.entries(variables).map(([name]) => [name, process.env[name]] as const);
  for (const [name, value] of Object.entries(variables)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  return () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

/** A port on loopback that nothing listens on (found free, then closed). */
export async function closedLoopbackPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A TLS server with the local stack's certificate (trusted, for 127.0.0.1 and localhost) that
 * completes the handshake and then never answers: a hung server or proxy.
 */
export async function startSilentTlsServer(): Promise<{ port: number; stop(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = tls.createServer(
    {
      cert: readFileSync(process.env.KEYLESS_TEST_SERVER_CERT as string),
      key: readFileSync(process.env.KEYLESS_TEST_SERVER_KEY as string),
    },
    (socket) => {
      sockets.add(socket);
      socket.on('error', () => socket.destroy());
      socket.on('close', () => sockets.delete(socket));
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as net.AddressInfo).port,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
