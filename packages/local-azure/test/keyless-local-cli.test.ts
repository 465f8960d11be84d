import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Cluster } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestCertificateAuthority } from './support/local-certificates.js';

const cli = fileURLToPath(new URL('../bin/keyless-local.js', import.meta.url));
const seedStyleApp = fileURLToPath(new URL('./fixtures/seed-style-app.mjs', import.meta.url));
const aksStyleApp = fileURLToPath(new URL('./fixtures/aks-style-app.mjs', import.meta.url));
const workFolder = mkdtempSync(join(tmpdir(), 'keyless-cli-test-'));

afterAll(() => rmSync(workFolder, { recursive: true, force: true }));

function parseDotEnv(text: string): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/i.exec(line);
    if (match) environment[match[1] as string] = JSON.parse(match[2] as string) as string;
  }
  return environment;
}

/** Resolves with everything printed once every pattern has appeared (stdout and stderr arrive in any order). */
function waitForOutput(child: ChildProcess, patterns: RegExp[], timeoutMs = 45_000): Promise<string> {
  const seenAll = (text: string) => patterns.every((pattern) => pattern.test(text));
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${patterns.join(', ')}:\n${output}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (seenAll(output)) {
        clearTimeout(timer);
        resolve(output);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (!seenAll(output)) reject(new Error(`exited (${code}) before ${patterns.join(', ')}:\n${output}`));
    });
  });
}

describe('keyless-local CLI', () => {
  // Starts every service in a child process: on a loaded 2-core CI machine that alone can take most
  // of the default 30 s, and the output waits below allow 45 s each.
  it('up prints progress and a working environment; unchanged SDK code succeeds with only that; Ctrl-C stops cleanly', {
    timeout: 120_000,
  }, async () => {
    const stateFolder = join(workFolder, 'state');
    const envFile = join(workFolder, 'app.env');
    // What the user already trusts (a TLS-inspecting proxy's CA): `up` must add to it, not replace it.
    const proxyAuthority = await createTestCertificateAuthority();
    const up = spawn(process.execPath, [cli, 'up', '--state', stateFolder, '--write-env', envFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_EXTRA_CA_CERTS: proxyAuthority.caCertificatePath },
    });
    const exited = new Promise<number | null>((resolve) => up.once('exit', resolve));
    try {
      const startup = await waitForOutput(up, [/keyless-local: ready/, /^export KEYLESS_REDIS_PORT=/m]);
      // All six services by default.
      for (const service of ['identity', 'keyvault', 'blob', 'sql', 'postgres', 'redis']) {
        expect(startup).toMatch(new RegExp(`✓ ${service}\\s+ready`));
      }
      expect(startup).toMatch(/^export KEYLESS_KEYVAULT_URL=https:\/\/127\.0\.0\.1:\d+\/$/m);

      const environment = parseDotEnv(readFileSync(envFile, 'utf8'));
      expect(Object.keys(environment)).toEqual(
        expect.arrayContaining([
          'NODE_EXTRA_CA_CERTS',
          'IDENTITY_ENDPOINT',
          'AZURE_CLIENT_ID',
          'KEYLESS_SQL_SERVER',
        ]),
      );
      // The exported bundle holds the user's CA first, then the stack's.
      const bundle = readFileSync(environment.NODE_EXTRA_CA_CERTS as string, 'utf8').replace(/\s+/g, '');
      const stackAuthority = readFileSync(join(stateFolder, 'ca', 'ca.pem'), 'utf8').replace(/\s+/g, '');
      expect(bundle).toBe(`${proxyAuthority.caCertificate.replace(/\s+/g, '')}${stackAuthority}`);
      expect(startup).toContain(`export NODE_EXTRA_CA_CERTS=${environment.NODE_EXTRA_CA_CERTS}`);
      // A fresh process with nothing but PATH/HOME and what the stack printed.
      const { stdout } = await promisify(execFile)(process.execPath, [seedStyleApp], {
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...environment },
        cwd: fileURLToPath(new URL('..', import.meta.url)),
      });
      expect(stdout).toContain('blob: Hello from the keyless local stack.');
      expect(stdout).toMatch(/keyvault: demo-message version [0-9a-f]{32}/);
      expect(stdout).toContain('sql: SUSER_SNAME() = keyless-app');
      expect(stdout).not.toContain('keyless-canary-secret');

      const second = await promisify(execFile)(process.execPath, [cli, 'up', '--state', stateFolder]).catch(
        (error: { stderr: string; code: number }) => error,
      );
      expect(second).toMatchObject({ code: 1 });
      expect((second as { stderr: string }).stderr).toContain('already running');
    } finally {
      up.kill('SIGINT');
      proxyAuthority.remove();
    }
    expect(await exited).toBe(0);
  });

  it('up --host aks prints the workload-identity environment, keeps the token file in the state folder, and unchanged SDK code reads a secret with it', {
    timeout: 120_000,
  }, async () => {
    const stateFolder = join(workFolder, 'state-aks');
    const envFile = join(workFolder, 'aks.env');
    const up = spawn(
      process.execPath,
      [cli, 'up', 'keyvault', '--host', 'aks', '--state', stateFolder, '--write-env', envFile],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const exited = new Promise<number | null>((resolve) => up.once('exit', resolve));
    try {
      const startup = await waitForOutput(up, [
        /keyless-local: ready/,
        /^export AZURE_FEDERATED_TOKEN_FILE=/m,
      ]);
      expect(startup).toMatch(/AKS workload identity/);
      const environment = parseDotEnv(readFileSync(envFile, 'utf8'));
      expect(Object.keys(environment)).toEqual(
        expect.arrayContaining([
          'AZURE_AUTHORITY_HOST',
          'AZURE_TENANT_ID',
          'AZURE_CLIENT_ID',
          'AZURE_FEDERATED_TOKEN_FILE',
          'NODE_EXTRA_CA_CERTS',
        ]),
      );
      expect(environment).not.toHaveProperty('IDENTITY_ENDPOINT');
      expect(environment.AZURE_AUTHORITY_HOST).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(environment.AZURE_FEDERATED_TOKEN_FILE).toBe(
        join(stateFolder, 'workload-identity', 'azure-identity-token'),
      );
      const { stdout } = await promisify(execFile)(process.execPath, [aksStyleApp], {
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...environment },
        cwd: fileURLToPath(new URL('..', import.meta.url)),
      });
      expect(stdout).toMatch(/keyvault over workload identity: demo-message version [0-9a-f]{32}/);
    } finally {
      up.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  });

  it('up redis --redis-cluster prints the seed list, and a cluster client logs in on it with an Entra token', {
    timeout: 120_000,
  }, async () => {
    const stateFolder = join(workFolder, 'state-redis-cluster');
    const envFile = join(workFolder, 'redis-cluster.env');
    const up = spawn(
      process.execPath,
      [cli, 'up', 'redis', '--redis-cluster', '--state', stateFolder, '--write-env', envFile],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise<number | null>((resolve) => up.once('exit', resolve));
    try {
      const startup = await waitForOutput(up, [
        /keyless-local: ready/,
        /^export KEYLESS_REDIS_CLUSTER_NODES=/m,
      ]);
      expect(startup).toMatch(/✓ redis\s+ready\s+cluster \(TLS\)/);
      const environment = parseDotEnv(readFileSync(envFile, 'utf8'));
      expect(environment).not.toHaveProperty('KEYLESS_REDIS_HOST');
      const seeds = (environment.KEYLESS_REDIS_CLUSTER_NODES ?? '').split(',').map((seed) => {
        const [host = '', port = ''] = seed.split(':');
        return { host, port: Number(port) };
      });
      expect(seeds).toHaveLength(6);
      // The App Service protocol, as the identity library of an app would ask.
      const tokenUrl = new URL(environment.IDENTITY_ENDPOINT as string);
      tokenUrl.searchParams.set('api-version', '2019-08-01');
      tokenUrl.searchParams.set('resource', 'https://redis.azure.com');
      tokenUrl.searchParams.set('client_id', environment.AZURE_CLIENT_ID as string);
      const answer = await fetch(tokenUrl, {
        headers: { 'X-IDENTITY-HEADER': environment.IDENTITY_HEADER as string },
      });
      const { access_token: token } = (await answer.json()) as { access_token: string };
      const client = new Cluster(seeds, {
        redisOptions: {
          // This state folder's CA, which the test worker does not trust by itself.
          tls: { ca: readFileSync(environment.NODE_EXTRA_CA_CERTS as string, 'utf8') },
          username: environment.KEYLESS_REDIS_ENTRA_USER as string,
          password: token,
        },
      });
      client.on('error', () => {});
      try {
        const keys = Array.from({ length: 20 }, (_, index) => `cli:${index}`);
        await Promise.all(keys.map((key) => client.set(key, key)));
        expect(await Promise.all(keys.map((key) => client.get(key)))).toEqual(keys);
      } finally {
        client.disconnect();
      }
    } finally {
      up.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  });

  it('rejects an unknown host with the list of valid ones', async () => {
    const result = await promisify(execFile)(process.execPath, [cli, 'up', '--host', 'cloud-run']).catch(
      (error: { stderr: string; code: number }) => error,
    );
    expect(result).toMatchObject({ code: 1 });
    expect((result as { stderr: string }).stderr).toContain(
      'unknown host "cloud-run"; choose from app-service, imds, aks',
    );
  });

  it('rejects an unknown service with the list of valid ones', async () => {
    const result = await promisify(execFile)(process.execPath, [cli, 'up', 'cosmos']).catch(
      (error: { stderr: string; code: number }) => error,
    );
    expect(result).toMatchObject({ code: 1 });
    expect((result as { stderr: string }).stderr).toContain('unknown service "cosmos"');
  });

  it('down stops a running stack from another process', async () => {
    const stateFolder = join(workFolder, 'state-down');
    const up = spawn(
      process.execPath,
      [cli, 'up', 'blob', '--state', stateFolder, '--write-env', join(workFolder, 'down.env')],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const exited = new Promise<number | null>((resolve) => up.once('exit', resolve));
    await waitForOutput(up, [/keyless-local: ready/]);
    const { stderr } = await promisify(execFile)(process.execPath, [cli, 'down', '--state', stateFolder]);
    expect(stderr).toContain('stopped');
    expect(await exited).toBe(0);
    const again = await promisify(execFile)(process.execPath, [cli, 'down', '--state', stateFolder]);
    expect(again.stderr).toContain('not running');
  });
});
