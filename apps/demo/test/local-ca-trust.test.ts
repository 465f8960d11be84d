import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureLocalCertificateAuthority } from '@keyless/local-azure';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const localStack = fileURLToPath(new URL('../dist/local-stack.js', import.meta.url));

describe("the demo's re-run trusting the local CA (npm run demo)", () => {
  let folder: string;

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'keyless-demo-ca-'));
  });

  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it("adds the local CA to the user's NODE_EXTRA_CA_CERTS (a proxy's CA) instead of replacing it", async () => {
    // The user's own extra CA, as on a machine behind a TLS-inspecting proxy.
    const proxy = await ensureLocalCertificateAuthority(join(folder, 'proxy'));
    const stateFolder = join(folder, 'state');
    // The script re-runs itself once, as the demo's main does; the re-run reports what it trusts.
    const script = `
      import { readFileSync } from 'node:fs';
      import { relaunchTrustingLocalCa } from ${JSON.stringify(localStack)};
      const code = await relaunchTrustingLocalCa(${JSON.stringify(stateFolder)});
      if (code !== undefined) process.exit(code);
      const bundle = readFileSync(process.env.NODE_EXTRA_CA_CERTS, 'utf8');
      const local = readFileSync(${JSON.stringify(join(stateFolder, 'ca', 'ca.pem'))}, 'utf8');
      const proxy = readFileSync(${JSON.stringify(proxy.caCertificatePath)}, 'utf8');
      console.log(JSON.stringify({ rerun: true, local: bundle.includes(local.trim()), proxy: bundle.includes(proxy.trim()) }));
    `;
    const scriptPath = join(folder, 'rerun.mjs');
    await writeFile(scriptPath, script);
    const child = spawn(process.execPath, [scriptPath], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: proxy.caCertificatePath },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    const exitCode = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(exitCode, output).toBe(0);
    expect(JSON.parse(output.trim().split('\n').at(-1) ?? '{}')).toEqual({
      rerun: true,
      local: true,
      proxy: true,
    });
    // The user's file itself is untouched.
    expect(await readFile(proxy.caCertificatePath, 'utf8')).toBe(proxy.caCertificate);
  });
});
