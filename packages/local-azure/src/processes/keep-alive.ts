/**
 * Keeps the process alive until `work` settles. The launchers unref their server processes, pipes
 * and admin sockets so that a finished program exits (the exit hook then stops the servers), but
 * then nothing would keep a program alive that is still awaiting a start or an admin command: a
 * script whose only work is `await startRedis()` would end with "unsettled top-level await".
 */
export async function keepingAlive<T>(work: () => Promise<T>): Promise<T> {
  const timer = setInterval(() => {}, 60_000);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
