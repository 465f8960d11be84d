import { aclPasswordHash } from './redis-acl.js';

/** setTimeout's limit; a longer wait is re-armed. */
const longestTimerMs = 2_147_483_647;

/**
 * The tokens currently valid as passwords of each Entra ACL user, by hash. A user has several at
 * once (a client may still hold an older token), and each is removed when it expires.
 */
export class EntraTokenPasswords {
  readonly #tokens = new Map<string, Map<string, number>>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #onExpired: (objectId: string, hash: string) => void;

  constructor(objectIds: Iterable<string>, onExpired: (objectId: string, hash: string) => void) {
    for (const objectId of objectIds) this.#tokens.set(objectId, new Map());
    this.#onExpired = onExpired;
  }

  get objectIds(): string[] {
    return [...this.#tokens.keys()];
  }

  isEntraUser(objectId: string): boolean {
    return this.#tokens.has(objectId);
  }

  /** Records a token; returns its hash, or undefined if it is not for a configured user or already expired. */
  accept(objectId: string, token: string, expiresAtMs: number): string | undefined {
    const tokens = this.#tokens.get(objectId);
    if (!tokens || expiresAtMs <= Date.now()) return undefined;
    const hash = aclPasswordHash(token);
    tokens.set(hash, expiresAtMs);
    this.#armTimer(objectId, hash, expiresAtMs);
    return hash;
  }

  /** When a token accepted for the user expires (ms), or undefined if it is not one of its passwords. */
  expiryOf(objectId: string, token: string): number | undefined {
    return this.#tokens.get(objectId)?.get(aclPasswordHash(token));
  }

  /** Whether the token is a password of the user now, as Redis's ACL has it. */
  isValid(objectId: string, token: string): boolean {
    return (this.expiryOf(objectId, token) ?? 0) > Date.now();
  }

  /** The unexpired hashes of a user, for the ACL file. */
  validHashes(objectId: string): string[] {
    const now = Date.now();
    return [...(this.#tokens.get(objectId) ?? [])]
      .filter(([, expiresAt]) => expiresAt > now)
      .map(([hash]) => hash);
  }

  close(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  #armTimer(objectId: string, hash: string, expiresAtMs: number): void {
    const timer = setTimeout(
      () => {
        this.#timers.delete(timer);
        if (expiresAtMs > Date.now()) {
          this.#armTimer(objectId, hash, expiresAtMs);
          return;
        }
        this.#tokens.get(objectId)?.delete(hash);
        this.#onExpired(objectId, hash);
      },
      Math.min(Math.max(expiresAtMs - Date.now(), 0), longestTimerMs),
    );
    // Tokens live for hours; their timers must not keep a finished process alive.
    timer.unref();
    this.#timers.add(timer);
  }
}
