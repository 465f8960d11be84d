// Installs Debian packages for the quickstart without leaving daemons behind.
//
// `apt-get install postgresql redis-server` starts Debian's system-wide services (ports 5432 and
// 6379) and leaves them running; the local stack never uses them (it starts private instances on
// free ports), so the user would be left with two daemons they did not ask for. The standard Debian
// way to keep a package's maintainer scripts from starting services is a policy-rc.d that exits 101
// ("action forbidden by policy"), honoured by invoke-rc.d and deb-systemd-invoke:
// https://people.debian.org/~hmh/invokerc.d-policyrc.d-specification.txt
// As a second line of defence, any service of those packages that is running afterwards and was not
// running before is stopped. Nothing is disabled: a service the user had is theirs.
//
// Runs on the machine's own Node (>= 18) with no dependencies. The command runner and the policy
// path are injected so tests can run it against a fake system.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const debianPolicyPath = '/usr/sbin/policy-rc.d';

/** The system-wide services a package's maintainer scripts start (Debian's unit and init script names). */
const servicesOfPackage = {
  postgresql: ['postgresql'],
  'redis-server': ['redis-server'],
};

/** Runs a command with the terminal attached; returns its exit status. */
export function runCommand(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', ...options });
  if (result.error) return 127;
  return result.status ?? 1;
}

/** Runs a command silently (a status query); returns its exit status. */
function quietly(run) {
  return (command, args, options = {}) => run(command, args, { ...options, stdio: 'ignore' });
}

/**
 * `apt-get update` and `apt-get install -y --no-install-recommends <packages>`, with a temporary
 * policy-rc.d in place (unless one exists: then it is the user's and is left alone), removed
 * afterwards even when apt fails; then stops whatever of those packages' services the install
 * started. Returns apt's exit status (0 on success). Says what it did through `log`.
 *
 * - `run(command, args, options)` → exit status; the real one is `runCommand`.
 * - `asRoot`: false prefixes every changing command with sudo.
 * - `systemd`: whether systemd manages services (`/run/systemd/system` exists); else `service`.
 */
export function installDebianPackages(
  packages,
  {
    run = runCommand,
    policyPath = debianPolicyPath,
    asRoot = typeof process.getuid === 'function' && process.getuid() === 0,
    systemd = existsSync('/run/systemd/system'),
    environment = process.env,
    log = () => {},
  } = {},
) {
  const privileged = (command, args, options) =>
    asRoot ? run(command, args, options) : run('sudo', [command, ...args], options);
  const env = { ...environment, DEBIAN_FRONTEND: 'noninteractive' };
  const services = packages.flatMap((name) => servicesOfPackage[name] ?? []);
  const isRunning = (service) =>
    (systemd
      ? quietly(run)('systemctl', ['is-active', '--quiet', service], { env })
      : quietly(run)('service', [service, 'status'], { env })) === 0;
  const runningBefore = new Set(services.filter(isRunning));

  const ownPolicy = !existsSync(policyPath);
  if (ownPolicy) {
    const folder = mkdtempSync(join(tmpdir(), 'keyless-policy-rc-'));
    try {
      const draft = join(folder, 'policy-rc.d');
      writeFileSync(draft, '#!/bin/sh\n# keyless quickstart: no service starts while apt runs\nexit 101\n');
      if (privileged('install', ['-m', '0755', draft, policyPath], { env }) !== 0) {
        log(`could not write ${policyPath}; services the install starts will be stopped afterwards`);
      }
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  } else {
    log(`${policyPath} exists (yours): left as it is`);
  }

  let status;
  try {
    status = privileged('apt-get', ['update'], { env });
    if (status === 0) {
      status = privileged('apt-get', ['install', '-y', '--no-install-recommends', ...packages], { env });
    }
  } finally {
    if (ownPolicy && existsSync(policyPath)) {
      privileged('rm', ['-f', policyPath], { env });
      log(`kept Debian from starting services during the install (a temporary ${policyPath}, now removed)`);
    }
  }

  const startedByInstall = services.filter((service) => !runningBefore.has(service) && isRunning(service));
  for (const service of startedByInstall) {
    const stopped =
      (systemd
        ? privileged('systemctl', ['stop', service], { env })
        : privileged('service', [service, 'stop'], { env })) === 0;
    log(
      stopped
        ? `stopped ${service}: the install started it`
        : `could not stop ${service}, which the install started`,
    );
  }
  const installedServices = services.filter((service) => !runningBefore.has(service));
  if (status === 0 && installedServices.length > 0) {
    const disable = systemd
      ? `sudo systemctl disable ${installedServices.join(' ')}`
      : installedServices.map((service) => `sudo update-rc.d ${service} disable`).join(' && ');
    log(
      `${installedServices.join(' and ')} not running (the local stack starts its own); Debian enables them at boot, \`${disable}\` turns that off`,
    );
  }
  return status;
}
