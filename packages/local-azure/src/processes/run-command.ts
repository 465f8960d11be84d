import { spawn } from 'node:child_process';
import type { SystemUser } from './system-user.js';

export interface CommandResult {
  exitCode: number | null;
  output: string;
}

/** Runs a one-shot tool (initdb) to completion with a minimal environment, as `runAs` if given. */
export function runCommand(
  command: string,
  args: readonly string[],
  options: { cwd: string; runAs?: SystemUser },
): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', LANG: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.runAs ? { uid: options.runAs.uid, gid: options.runAs.gid } : {}),
    });
    let output = '';
    const keep = (chunk: Buffer) => {
      output += chunk.toString('utf8');
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', (error) => resolve({ exitCode: -1, output: `${output}\n${error.message}` }));
    child.once('close', (exitCode) => resolve({ exitCode, output }));
  });
}
