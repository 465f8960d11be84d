type Cleanup = () => void;

const cleanups = new Set<Cleanup>();
const forwardedSignals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let installed = false;

function runCleanups(): void {
  for (const cleanup of [...cleanups]) {
    cleanups.delete(cleanup);
    try {
      cleanup();
    } catch {
      // One failed cleanup must not leave the other servers running.
    }
  }
}

function onSignal(signal: NodeJS.Signals): void {
  // Someone else handles this signal (a CLI's Ctrl-C handler that calls stop()): let it, the
  // 'exit' hook still backs it up. Alone, we clean up and die of the signal as Node would have.
  if (process.listenerCount(signal) > 1) return;
  runCleanups();
  process.removeListener(signal, onSignal);
  process.kill(process.pid, signal);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runCleanups);
  for (const signal of forwardedSignals) process.on(signal, onSignal);
}

/**
 * Registers synchronous work to do when the process ends without stop() having been called
 * (a crashed test, a forgotten stop): 'exit' handlers cannot await, so cleanups are synchronous.
 * Returns the function that unregisters it.
 */
export function registerExitCleanup(cleanup: Cleanup): () => void {
  install();
  cleanups.add(cleanup);
  return () => {
    cleanups.delete(cleanup);
  };
}
