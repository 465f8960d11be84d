// The keyless sample app: `pnpm start` (local mode) or KEYLESS_DEMO_MODE=azure.
import { redactKnownSecrets } from '@keyless/core/internal';
import type { LocalAzure } from '@keyless/local-azure';
import { loadProcessConfig, loadResourceConfig } from './config.js';
import { DemoApp } from './demo-app.js';
import { formatProgress, relaunchTrustingLocalCa, startLocalStack } from './local-stack.js';
import { DeferredLogger } from './logging.js';
import { buildServer } from './server.js';
import { onShutdownSignal } from './shutdown.js';

const say = (message: string) => process.stdout.write(`${message}\n`);

async function main(): Promise<void> {
  const config = loadProcessConfig();
  if (config.mode === 'local') {
    const exitCode = await relaunchTrustingLocalCa(config.stateFolder);
    if (exitCode !== undefined) {
      process.exitCode = exitCode;
      return;
    }
  }

  let stack: LocalAzure | undefined;
  if (config.mode === 'local') {
    say('keyless demo: starting the local Azure stack');
    stack = await startLocalStack(
      config.stateFolder,
      (event) => say(formatProgress(event)),
      config.tokenLifetimeSeconds,
    );
  }
  let app: DemoApp | undefined;
  try {
    const resources = loadResourceConfig();
    say(`keyless demo: ${config.mode} mode, token backend ${config.backend}`);
    const logger = new DeferredLogger();
    const started = await DemoApp.create({
      mode: config.mode,
      backend: config.backend,
      resources,
      stack,
      logger,
    });
    app = started;
    const server = buildServer(started, { logLevel: config.logLevel });
    logger.attach(server.log);
    onShutdownSignal(
      [
        { name: 'server closed', run: () => server.close() },
        { name: 'connectors closed', run: () => started.close() },
        ...(stack ? [{ name: 'local stack stopped', run: () => (stack as LocalAzure).stop() }] : []),
      ],
      say,
    );
    await server.listen({ host: config.host, port: config.port });
    const address = server.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    // First answers in the background, so the cards are filled by the time the page loads.
    void started.probe();
    // The doctor panel has a report by the time someone looks; a failed run shows on the panel.
    void started.runDoctor().catch(() => {});
    say(`keyless demo: http://${config.host}:${port}`);
    say('keyless demo: press Ctrl-C to stop');
  } catch (error) {
    await app?.close().catch(() => {});
    await stack?.stop().catch(() => {});
    throw error;
  }
}

main().catch((error: unknown) => {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  say(`keyless demo failed: ${redactKnownSecrets(text)}`);
  process.exit(1);
});
