import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { installDebianPackages } from '../../../scripts/debian-packages.mjs';

/**
 * A fake Debian system (a unit test may fake a backend): apt-get "installs" packages whose
 * maintainer scripts start their services unless policy-rc.d forbids it (exit 101), as invoke-rc.d
 * does; systemctl/service report and stop them; install/rm act on the real (temporary) policy path.
 */
class FakeDebian {
  readonly commands: string[] = [];
  readonly running = new Set<string>();
  /** A package whose maintainer script ignores policy-rc.d: the second line of defence must catch it. */
  ignoresPolicy = false;
  aptInstallStatus = 0;
  policyDuringInstall: string | undefined;

  constructor(private readonly policyPath: string) {}

  private policyForbids(): boolean {
    return existsSync(this.policyPath) && /^exit 101$/m.test(readFileSync(this.policyPath, 'utf8'));
  }

  run = (command: string, args: readonly string[]): number => {
    const [program, ...rest] = command === 'sudo' ? (args as [string, ...string[]]) : [command, ...args];
    this.commands.push([command === 'sudo' ? 'sudo' : '', program, ...rest].filter(Boolean).join(' '));
    switch (program) {
      case 'install': {
        copyFileSync(rest[2] as string, rest[3] as string);
        return 0;
      }
      case 'rm':
        rmSync(rest[1] as string, { force: true });
        return 0;
      case 'apt-get': {
        if (rest[0] !== 'install') return 0;
        this.policyDuringInstall = existsSync(this.policyPath)
          ? readFileSync(this.policyPath, 'utf8')
          : undefined;
        for (const name of rest.filter((argument) => !argument.startsWith('-') && argument !== 'install')) {
          const service = { postgresql: 'postgresql', 'redis-server': 'redis-server' }[name];
          if (service && (this.ignoresPolicy || !this.policyForbids())) this.running.add(service);
        }
        return this.aptInstallStatus;
      }
      case 'systemctl':
        if (rest[0] === 'is-active') return this.running.has(rest[2] as string) ? 0 : 3;
        if (rest[0] === 'stop') this.running.delete(rest[1] as string);
        return 0;
      case 'service':
        if (rest[1] === 'status') return this.running.has(rest[0] as string) ? 0 : 3;
        if (rest[1] === 'stop') this.running.delete(rest[0] as string);
        return 0;
      default:
        return 127;
    }
  };
}

describe('installing postgresql and redis-server leaves no system-wide service running', () => {
  let folder: string;
  let policyPath: string;
  let system: FakeDebian;
  let said: string[];

  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'keyless-apt-'));
    policyPath = join(folder, 'policy-rc.d');
    system = new FakeDebian(policyPath);
    said = [];
  });

  afterEach(() => {
    rmSync(folder, { recursive: true, force: true });
  });

  const install = (options: { asRoot?: boolean; systemd?: boolean } = {}) =>
    installDebianPackages(['postgresql', 'redis-server'], {
      run: system.run,
      policyPath,
      asRoot: options.asRoot ?? true,
      systemd: options.systemd ?? true,
      environment: {},
      log: (line: string) => said.push(line),
    });

  it('the plain apt-get install the quickstart ran before starts both services (the control)', () => {
    system.run('apt-get', ['update']);
    system.run('apt-get', ['install', '-y', '--no-install-recommends', 'postgresql', 'redis-server']);
    expect([...system.running].sort()).toEqual(['postgresql', 'redis-server']);
  });

  it('forbids service starts with a temporary policy-rc.d (exit 101) and removes it afterwards', () => {
    expect(install()).toBe(0);
    expect(system.policyDuringInstall).toMatch(/^exit 101$/m);
    expect(existsSync(policyPath)).toBe(false);
    expect(system.running.size).toBe(0);
    const installAt = system.commands.findIndex((line) => line.startsWith('apt-get install'));
    expect(system.commands.findIndex((line) => line.startsWith('install -m 0755'))).toBeLessThan(installAt);
    expect(system.commands.indexOf(`rm -f ${policyPath}`)).toBeGreaterThan(installAt);
    expect(said.some((line) => line.includes('temporary'))).toBe(true);
    expect(system.commands.some((line) => /disable/.test(line))).toBe(false);
  });

  it('removes its policy-rc.d when apt-get fails, and reports apt’s status', () => {
    system.aptInstallStatus = 100;
    expect(install()).toBe(100);
    expect(existsSync(policyPath)).toBe(false);
  });

  it('leaves a policy-rc.d that was there before exactly as it was', () => {
    const theirs = '#!/bin/sh\n# the administrator’s own policy\nexit 0\n';
    writeFileSync(policyPath, theirs);
    install();
    expect(readFileSync(policyPath, 'utf8')).toBe(theirs);
    expect(system.commands.some((line) => line.startsWith('install ') || line.startsWith('rm '))).toBe(false);
    expect(said.some((line) => line.includes('left as it is'))).toBe(true);
  });

  it('stops what the install started anyway, and only that (a service running before stays up)', () => {
    system.ignoresPolicy = true;
    system.running.add('redis-server'); // the user's own, running before
    install({ systemd: true });
    expect([...system.running]).toEqual(['redis-server']);
    expect(system.commands).toContain('systemctl stop postgresql');
    expect(system.commands).not.toContain('systemctl stop redis-server');
    expect(said.some((line) => line.startsWith('stopped postgresql'))).toBe(true);
  });

  it('uses sudo for every change when not root, and `service` without systemd', () => {
    system.ignoresPolicy = true;
    install({ asRoot: false, systemd: false });
    expect(system.running.size).toBe(0);
    const changes = system.commands.filter((line) => !/ status$/.test(line));
    expect(changes.every((line) => line.startsWith('sudo '))).toBe(true);
    expect(system.commands).toContain('sudo service postgresql stop');
    expect(system.commands).toContain('sudo service redis-server stop');
  });
});
