import { appendFileSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ServerStartError } from '../processes/launcher-errors.js';
import { ManagedServerProcess } from '../processes/managed-server-process.js';
import { runCommand } from '../processes/run-command.js';
import type { SystemUser } from '../processes/system-user.js';
import { chownRecursively } from '../processes/temporary-folder.js';
import {
  adminRoleName,
  renderHostBasedAuthentication,
  renderServerSettings,
} from './postgres-configuration.js';

/** The files of one private cluster, all inside the instance's temporary folder. */
export interface ClusterLayout {
  binFolder: string;
  folder: string;
  dataFolder: string;
  socketFolder: string;
  runAs?: SystemUser;
}

export function clusterLayout(binFolder: string, folder: string, runAs?: SystemUser): ClusterLayout {
  return {
    binFolder,
    folder,
    dataFolder: join(folder, 'data'),
    socketFolder: join(folder, 'socket'),
    ...(runAs ? { runAs } : {}),
  };
}

/**
 * initdb with scram-sha-256 everywhere and a random superuser password. The password goes through
 * a file that exists only while initdb runs, never through the command line (visible in ps).
 */
export async function initializeCluster(layout: ClusterLayout, adminPassword: string): Promise<void> {
  mkdirSync(layout.socketFolder, { mode: 0o700 });
  const passwordFile = join(layout.folder, 'initdb-password');
  writeFileSync(passwordFile, `${adminPassword}\n`, { mode: 0o600 });
  if (layout.runAs) chownRecursively(layout.folder, layout.runAs);
  try {
    const result = await runCommand(
      join(layout.binFolder, 'initdb'),
      [
        `--pgdata=${layout.dataFolder}`,
        `--username=${adminRoleName}`,
        `--pwfile=${passwordFile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
        '--no-sync',
      ],
      { cwd: layout.folder, ...(layout.runAs ? { runAs: layout.runAs } : {}) },
    );
    if (result.exitCode !== 0) {
      throw new ServerStartError(
        'PostgreSQL',
        `initdb failed (exit ${result.exitCode})`,
        lastLines(result.output),
      );
    }
  } finally {
    rmSync(passwordFile, { force: true });
  }
}

const includeLine = "include 'keyless.conf'";

export interface ClusterConfiguration {
  port: number;
  tls?: { certPath: string; keyPath: string };
  ldapPort?: number;
}

/**
 * Writes our settings and pg_hba.conf. The TLS key is copied in: postgres insists on a key file
 * that only its own user can read, and the CA's copy belongs to whoever created the CA.
 */
export function configureCluster(layout: ClusterLayout, configuration: ClusterConfiguration): void {
  let tlsFiles: { certFile: string; keyFile: string } | undefined;
  if (configuration.tls) {
    const tlsFolder = join(layout.folder, 'tls');
    mkdirSync(tlsFolder, { recursive: true, mode: 0o700 });
    tlsFiles = { certFile: join(tlsFolder, 'server.pem'), keyFile: join(tlsFolder, 'server-key.pem') };
    copyFileSync(configuration.tls.certPath, tlsFiles.certFile);
    copyFileSync(configuration.tls.keyPath, tlsFiles.keyFile);
    if (layout.runAs) chownRecursively(tlsFolder, layout.runAs);
  }
  const settingsFile = join(layout.dataFolder, 'keyless.conf');
  writeFileSync(
    settingsFile,
    renderServerSettings({
      port: configuration.port,
      socketFolder: layout.socketFolder,
      ...(tlsFiles ? { tls: tlsFiles } : {}),
    }),
    { mode: 0o600 },
  );
  const mainSettingsFile = join(layout.dataFolder, 'postgresql.conf');
  if (!readFileSync(mainSettingsFile, 'utf8').includes(includeLine))
    appendFileSync(mainSettingsFile, `\n${includeLine}\n`);
  writeFileSync(
    join(layout.dataFolder, 'pg_hba.conf'),
    renderHostBasedAuthentication({
      tls: tlsFiles !== undefined,
      ...(configuration.ldapPort !== undefined ? { ldapPort: configuration.ldapPort } : {}),
    }),
    { mode: 0o600 },
  );
  if (layout.runAs) chownRecursively(layout.folder, layout.runAs);
}

export function startClusterProcess(layout: ClusterLayout): ManagedServerProcess {
  return ManagedServerProcess.start({
    name: 'postgres',
    command: join(layout.binFolder, 'postgres'),
    args: ['-D', layout.dataFolder],
    cwd: layout.folder,
    ...(layout.runAs ? { runAs: layout.runAs } : {}),
    // SIGINT is PostgreSQL's fast shutdown (sessions ended, clean checkpoint); SIGQUIT the immediate one.
    stopSignal: 'SIGINT',
    emergencySignal: 'SIGQUIT',
  });
}

function lastLines(text: string, count = 20): string {
  return text.trim().split('\n').slice(-count).join('\n');
}
