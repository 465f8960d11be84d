import type { PasswordBinding } from '@keyless/keyvault/internal';

/** How long an early password is handed to the next login; older, that login asks the binding itself. */
export const earlyPasswordWindowMs = 10_000;

/**
 * The first login's password, asked for when the pool is first used instead of when the server
 * asks for it. pg calls the password function only after TCP, TLS and the startup message, so a
 * cold process otherwise does that round trip and then the password's (loading the token library or
 * the Key Vault SDK, the identity endpoint, the vault) one after the other; started together, the
 * connect overlaps the fetch (issue 11: the raw path has no such wait, it fetches first).
 *
 * The next login takes this very promise (its value or its failure), so a failure is not asked for
 * twice; later logins ask the binding, which caches and shares one fetch among concurrent callers.
 */
export class EarlyPassword {
  readonly #binding: PasswordBinding;
  readonly #now: () => number;
  #early: { promise: Promise<string>; startedAt: number } | undefined;

  /** `now`: milliseconds on a monotonic clock; a test's own clock. */
  constructor(binding: PasswordBinding, now: () => number = () => performance.now()) {
    this.#binding = binding;
    this.#now = now;
  }

  start(): void {
    const promise = this.#binding.get();
    // Handled by the login that takes it; unhandled until then, it would be reported as such.
    promise.catch(() => {});
    this.#early = { promise, startedAt: this.#now() };
  }

  /** For pg's password function: the early promise once, while fresh; the binding's value otherwise. */
  get(): Promise<string> {
    const early = this.#early;
    this.#early = undefined;
    if (early !== undefined && this.#now() - early.startedAt < earlyPasswordWindowMs) return early.promise;
    return this.#binding.get();
  }
}
