import type { FetchedToken } from '../../src/access-token.js';
import type { TokenBackend, TokenRequest } from '../../src/backends/token-backend.js';
import type { KeylessError } from '../../src/errors.js';
import type { ManagedIdentitySelector } from '../../src/identity.js';

type Step =
  | { kind: 'token'; lifetimeMs: number; refreshAfterMs?: number }
  /** The token of the previous answer again, as IMDS does while it keeps its cached one. */
  | { kind: 'same'; refreshAfterMs?: number }
  | { kind: 'error'; error: KeylessError };

/**
 * A scripted endpoint for unit tests of the cache: each call takes the next step (the last one
 * repeats), optionally held open until the test releases it.
 */
export class FakeBackend implements TokenBackend {
  readonly name: TokenBackend['name'];
  readonly identity: ManagedIdentitySelector = { kind: 'system-assigned' };
  readonly calls: { request: TokenRequest; at: number }[] = [];
  #steps: Step[] = [{ kind: 'token', lifetimeMs: 60 * 60_000 }];
  #held: (() => void)[] = [];
  #holding = false;
  #serial = 0;
  #last: FetchedToken | undefined;

  constructor(
    private readonly now: () => number,
    name: TokenBackend['name'] = 'msal',
  ) {
    this.name = name;
  }

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
    const issuedAt = this.now();
    if (step.kind === 'same' && this.#last !== undefined) {
      const refreshAfterTimestamp =
        step.refreshAfterMs === undefined ? undefined : issuedAt + step.refreshAfterMs;
      return { ...this.#last, refreshAfterTimestamp };
    }
    const lifetimeMs = step.kind === 'token' ? step.lifetimeMs : 60 * 60_000;
    const refreshAfterMs = step.refreshAfterMs;
    this.#serial += 1;
    this.#last = {
      token: `eyJhbGciOiJSUzI1NiJ9.fake-token-${this.#serial}-${request.scope}.c2lnbmF0dXJl`,
      expiresOnTimestamp: issuedAt + lifetimeMs,
      refreshAfterTimestamp: refreshAfterMs === undefined ? undefined : issuedAt + refreshAfterMs,
    };
    return this.#last;
  }
}
