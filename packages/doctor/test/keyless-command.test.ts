import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** The `keyless` command's usage: what a user typing it wrong gets (no stack needed). */
function keyless(...argumentsGiven: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(process.cwd(), 'bin', 'keyless.js'), ...argumentsGiven],
      { timeout: 60_000 },
      (error, stdout, stderr) =>
        resolve({ exitCode: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

describe('the keyless command', () => {
  it('doctor --help describes the options and exits 0', async () => {
    const result = await keyless('doctor', '--help');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('--config <file>');
    expect(result.stdout).toContain('--json');
    expect(result.stdout).toContain('--timeout <ms>');
  });

  it('a bad --timeout or an unknown command is a usage error: exit code 2, said on stderr', async () => {
    const timeout = await keyless('doctor', '--timeout', 'soon');
    expect(timeout.exitCode).toBe(2);
    expect(timeout.stderr).toContain('give whole milliseconds between 100 and 600000');
    const unknown = await keyless('docter');
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'docter'");
  });
});
