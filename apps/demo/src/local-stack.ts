import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import {
  ensureLocalCertificateAuthority,
  type LocalAzure,
  type StackProgressEvent,
  startLocalAzure,
  trustBundleFor,
} from '@keyless/local-azure';

/**
 * Node reads NODE_EXTRA_CA_CERTS only when it starts, and Azurite's BlobServiceClient takes no `ca`
 * option, so the server process must be started with it. The launcher makes (or reuses) the stack's
 * CA in the state folder and a bundle of it with whatever NODE_EXTRA_CA_CERTS already trusted (a
 * proxy's CA: replacing it would break the app's other outbound TLS), and re-runs this same script
 * with the variable naming the bundle; that child starts the stack and the server. Returns the
 * child's exit code, or undefined when this process already trusts the CA and should go on itself.
 */
export async function relaunchTrustingLocalCa(stateFolder: string): Promise<number | undefined> {
  const authority = await ensureLocalCertificateAuthority(resolve(stateFolder));
  const bundle = await trustBundleFor(authority);
  const current = process.env.NODE_EXTRA_CA_CERTS;
  // The bundle is the current file itself when that already holds the local CA.
  if (current && resolve(current) === resolve(bundle)) return undefined;
  const script = process.argv[1];
  if (!script) throw new Error('cannot re-run the demo: no script path in process.argv');
  const child = spawn(process.execPath, [...process.execArgv, script, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, NODE_EXTRA_CA_CERTS: bundle },
  });
  // Ctrl-C reaches the whole process group; a signal sent to this process alone is passed on.
  const forward = (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return await new Promise<number>((done) => {
    child.on('exit', (code, signal) => done(code ?? (signal ? 1 : 0)));
    child.on('error', () => done(1));
  });
}

const phaseText: Record<StackProgressEvent['phase'], string> = {
  starting: 'starting',
  seeding: 'seeding',
  ready: 'ready',
  stopping: 'stopping',
  stopped: 'stopped',
  failed: 'FAILED',
};

export function formatProgress(event: StackProgressEvent): string {
  return `  ${event.service.padEnd(9)} ${phaseText[event.phase]}${event.detail ? `  ${event.detail}` : ''}`;
}

/**
 * Starts the local Azure stack and puts its environment in process.env — before the first token
 * request, because MSAL picks the managed-identity source once per process and keeps it.
 */
export async function startLocalStack(
  stateFolder: string,
  onProgress: (event: StackProgressEvent) => void,
  tokenLifetimeSeconds?: number,
): Promise<LocalAzure> {
  const stack = await startLocalAzure({
    stateFolder: resolve(stateFolder),
    onProgress,
    ...(tokenLifetimeSeconds ? { tokenLifetimeSeconds } : {}),
  });
  Object.assign(process.env, stack.env);
  return stack;
}
