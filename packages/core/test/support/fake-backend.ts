import type { FetchedToken } from '../../src/access-token.js';
import type { TokenBackend, TokenRequest } from '../../src/backends/token-backend.js';
import type { KeylessError } from '../../src/errors.js';
import type { ManagedIdentitySelector } from '../../src/identity.js';

type Step =
  | { kind: 'token'; lifetimeMs: number; refreshAfterMs?: number }
  | { kind: 'error'; error: KeylessError };

/**
 * A scripted endpoint for unit tests of the cache: each call takes the next step (the last one
 * repeats), optionally held open until the test releases it.
 */
export class FakeBackend implements TokenBackend {
  readonly name = 'msal' as const;
  readonly identity: ManagedIdentitySelector = { kind: 'system-assigned' };
  readonly calls: { request: TokenRequest; at: number }[] = [];
  #steps: Step[] = [{ kind: 'token', lifetimeMs: 60 * 60_000 }];
  #held: (() => void)[] = [];
  #holding = false;
  #serial = 0;

  constructor(private readonly now: () => number) {}

  script(...steps: Step[]): this {
    this.#steps = steps;
    return this;
  }

  /** Every call from now on waits until `release()`. */
  hold(): void {
    this.#holding = true;
  }

  release(): void {
    this.#holding = false;
    for (const resume of this.#held.splice(0)) resume();
  }

  async fetchToken(request: TokenRequest): Promise<FetchedToken> {
    this.calls.push({ request, at: this.now() });
    if (this.#holding) await new Promise<void>((resume) => this.#held.push(resume));
    const step = this.#steps.length > 1 ? (this.#steps.shift() as Step) : (this.#steps[0] as Step);
    if (step.kind === 'error') throw step.error;
    this.#serial += 1;
    const issuedAt = this.now();
    return {
      token: `eyJhbGciOiJSUzI1NiJ9.fake-token-${this.#serial}-${request.scope}.c2lnbmF0dXJl`,
      expiresOnTimestamp: issuedAt + step.lifetimeMs,
      refreshAfterTimestamp: step.refreshAfterMs === undefined ? undefined : issuedAt + step.refreshAfterMs,
    };
  }
}
