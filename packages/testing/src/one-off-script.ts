import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** What a one-off script run produced. */
export interface OneOffScriptResult {
  /** The process's exit code; 3 means it was still alive a second after `main()` settled. */
  exitCode: number | null;
  /** What `main()` settled with: `resolved <json>` or `rejected <error name> <code>`; undefined if it never settled. */
  settled: string | undefined;
  /** Set when the process outlived `main()` by a second: what was keeping it alive. */
  stillAlive: string | undefined;
  output: string;
}

/**
 * Runs `source` as an application's one-off script would run (no server, nothing else keeping the
 * event loop alive): an ES module in `folder` (so its imports resolve from that package) that
 * defines `async function main()`, which must do its work and close what it opened. The wrapper
 * reports how `main()` settled, then gives the process one second to exit on its own: a timer or
 * socket left behind by `close()` shows up as `stillAlive`. A script that never settles `main()`
 * and exits anyway (the event loop ran dry with a promise pending) has `settled` undefined.
 */
export async function runOneOffScript(
  folder: string,
  source: string,
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<OneOffScriptResult> {
  const scratch = await mkdtemp(join(folder, '.one-off-'));
  const script = join(scratch, 'script.mjs');
  await writeFile(
    script,
    `${source}
const report = (line) => process.stdout.write(\`KEYLESS_SETTLED \${line}\\n\`);
const lingerCheck = () =>
  setTimeout(() => {
    process.stdout.write(\`KEYLESS_STILL_ALIVE \${JSON.stringify(process.getActiveResourcesInfo())}\\n\`);
    process.exit(3);
  }, 1000).unref();
// As a user writes it, not with top-level await: a promise that never settles lets Node exit 0.
main().then(
  (value) => {
    report(\`resolved \${JSON.stringify(value ?? null)}\`);
    lingerCheck();
  },
  (error) => {
    report(\`rejected \${error?.name ?? typeof error} \${error?.code ?? ''}\`.trim());
    lingerCheck();
  },
);
`,
  );
  try {
    return await new Promise<OneOffScriptResult>((resolve) => {
      const child = spawn(process.execPath, [script], {
        cwd: folder,
        env: options.env ?? process.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (chunk) => {
        output += chunk;
      });
      child.stderr.on('data', (chunk) => {
        output += chunk;
      });
      const limit = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
      child.on('close', (exitCode) => {
        clearTimeout(limit);
        resolve({
          exitCode,
          settled: /^KEYLESS_SETTLED (.*)$/m.exec(output)?.[1],
          stillAlive: /^KEYLESS_STILL_ALIVE (.*)$/m.exec(output)?.[1],
          output,
        });
      });
    });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
