import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * The projected service-account token file, as the kubelet keeps it: written whole (a temporary
 * file renamed over the old one, so a reader never sees half a token — the kubelet swaps a
 * symlink for the same reason) and rewritten when the token is older than 80% of its lifetime
 * (https://kubernetes.io/docs/concepts/storage/projected-volumes/#serviceaccounttoken). The timer
 * never keeps the process alive.
 */
export class ProjectedTokenFile {
  readonly path: string;
  readonly #mint: () => Promise<{ token: string; lifetimeSeconds: number }>;
  #timer: NodeJS.Timeout | undefined;
  #rotations = 0;
  #stopped = false;
  #writing: Promise<void> = Promise.resolve();

  constructor(path: string, mint: () => Promise<{ token: string; lifetimeSeconds: number }>) {
    this.path = path;
    this.#mint = mint;
  }

  /** How many times the file was written (the first write included). */
  get writes(): number {
    return this.#rotations;
  }

  /** Writes a fresh token now and schedules the next rotation; calls are serialised. */
  rotate(): Promise<void> {
    this.#writing = this.#writing.catch(() => {}).then(() => this.#write());
    return this.#writing;
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  async #write(): Promise<void> {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    const { token, lifetimeSeconds } = await this.#mint();
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const temporary = `${this.path}.${process.pid}.tmp`;
    // Readable by this user only, like the projected volume's 0600 default for a non-root pod.
    await writeFile(temporary, token, { mode: 0o600 });
    await rename(temporary, this.path);
    this.#rotations += 1;
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.rotate().catch((error: unknown) => {
        process.emitWarning(
          `workload identity: rotating ${this.path} failed: ${error instanceof Error ? error.message : String(error)}`,
          { code: 'KEYLESS_TOKEN_FILE_ROTATION_FAILED' },
        );
      });
    }, lifetimeSeconds * 800);
    this.#timer.unref();
  }
}
