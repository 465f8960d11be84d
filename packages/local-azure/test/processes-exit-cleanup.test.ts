import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { isPortFree } from '../src/processes/free-port.js';
import { findListeningProcess, processIsGone } from './support/listening-process.js';

interface ReportedPorts {
  postgresPort: number;
  redisPort: number;
}

/** Starts the abandoning script; resolves with its report and a promise of its exit. */
function runAbandonedServers(mode: 'exit' | 'signal') {
  // The built package, as an application would load it.
  const child = spawn(
    process.execPath,
    [join(import.meta.dirname, 'fixtures', 'abandoned-servers.mjs'), mode],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const reported = new Promise<ReportedPorts>((resolve, reject) => {
    let output = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      output += chunk;
      const line = output.split('\n').find((candidate) => candidate.startsWith('{'));
      if (line) resolve(JSON.parse(line) as ReportedPorts);
    });
    child.once('exit', (code) => reject(new Error(`the script exited (${code}) before reporting`)));
  });
  return { child, exited, reported };
}

async function expectGone(servers: { pid: number; cwd: string }[], ports: number[]): Promise<void> {
  // The exit hook waits for the servers before Node exits, so nothing should be left by now.
  for (const server of servers) expect(processIsGone(server.pid)).toBe(true);
  for (const port of ports) {
    for (let attempt = 0; attempt < 20 && !(await isPortFree(port)); attempt++) await sleep(50);
    expect(await isPortFree(port)).toBe(true);
  }
  expect(existsSync(servers[0]?.cwd.replace(/\/data$/, '') ?? '/')).toBe(false);
  expect(existsSync(servers[1]?.cwd ?? '/')).toBe(false);
}

describe('no orphan servers when the process ends without stop()', () => {
  for (const mode of ['exit', 'signal'] as const) {
    it(`cleans up on ${mode === 'exit' ? 'process.exit()' : 'SIGTERM'}`, async () => {
      const run = runAbandonedServers(mode);
      const ports = await run.reported;
      const servers = [findListeningProcess(ports.postgresPort), findListeningProcess(ports.redisPort)];
      expect(servers.every((server) => server !== undefined)).toBe(true);
      if (mode === 'signal') run.child.kill('SIGTERM');
      else run.child.stdin?.write('exit\n');
      await run.exited;
      await expectGone(
        servers.filter((server) => server !== undefined),
        [ports.postgresPort, ports.redisPort],
      );
    });
  }
});

describe('a script that only awaits the launchers', () => {
  it('is kept alive through start, helpers and stop, standalone Redis and Redis Cluster', {
    timeout: 180_000,
  }, async () => {
    // The launchers unref their processes and sockets; the built package, as an application loads it.
    const fixture = join(import.meta.dirname, 'fixtures', 'redis-awaits-only.mjs');
    const { stdout } = await promisify(execFile)(process.execPath, [fixture], { timeout: 170_000 });
    expect(stdout).toContain('standalone: done');
    expect(stdout).toContain('cluster: done');
  });
});
