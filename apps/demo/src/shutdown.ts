/**
 * Runs `steps` once on SIGINT/SIGTERM, in order, each failure logged and the rest still run; then
 * the process exits. A second signal while shutting down is ignored (Ctrl-C reaches the whole
 * process group, and a launcher forwards signals too); a watchdog ends a shutdown that hangs.
 */
export function onShutdownSignal(
  steps: ReadonlyArray<{ name: string; run: () => Promise<unknown> }>,
  log: (message: string) => void,
  watchdogMs = 15_000,
): void {
  let shuttingDown = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (shuttingDown) return;
    shuttingDown = true;
    log(`keyless demo: ${signal} received, shutting down`);
    const watchdog = setTimeout(() => {
      log('keyless demo: shutdown took too long, exiting');
      process.exit(1);
    }, watchdogMs);
    watchdog.unref();
    let failed = false;
    for (const step of steps) {
      try {
        await step.run();
        log(`  ${step.name}: done`);
      } catch (error) {
        failed = true;
        log(`  ${step.name}: failed (${error instanceof Error ? error.message : String(error)})`);
      }
    }
    log('keyless demo: stopped');
    process.exit(failed ? 1 : 0);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}
