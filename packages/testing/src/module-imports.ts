import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/** A module a child process resolved, and the module that asked for it. */
export interface ResolvedModule {
  url: string;
  parent: string;
}

/**
 * Runs `body` as an ES module in a fresh Node process behind a resolve hook (Node's
 * module.registerHooks, which sees ES imports and CommonJS requires alike) and returns every module
 * it resolved, with its importer: what "what loads when" tests assert on, against the built package
 * as an application gets it. The child inherits only PATH, so nothing of the test run leaks in;
 * anything it writes to stderr fails the call.
 */
export async function modulesResolvedBy(body: string, timeoutMs = 30_000): Promise<ResolvedModule[]> {
  const script = `
    import { registerHooks } from 'node:module';
    const imports = [];
    registerHooks({
      resolve(specifier, context, nextResolve) {
        const result = nextResolve(specifier, context);
        imports.push({ url: result.url, parent: context.parentURL ?? '' });
        return result;
      },
    });
    ${body}
    console.log(JSON.stringify(imports));
  `;
  const child = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { PATH: process.env.PATH ?? '' },
  });
  if (child.stderr !== '') throw new Error(`the child process wrote to stderr:\n${child.stderr}`);
  return JSON.parse(child.stdout.trim().split('\n').at(-1) as string) as ResolvedModule[];
}
