/** Which of a login attempt's two bounds ran out. */
export type LoginTimeoutKind = 'server' | 'token';

/**
 * The two bounds of one login attempt, each `connectTimeoutMs`: the time spent reaching the server
 * and logging in (TCP, PRELOGIN, TLS, LOGIN7, and the answers), and the time spent waiting for the
 * token provider once tedious has asked it for the token.
 *
 * tedious has one timer, `connectTimeout`, from the TCP connect to LOGINACK, and the token request
 * of `token-credential` runs inside it. A first token can be slow for reasons that have nothing to
 * do with the server — a cold process loading the backend library under load, IMDS answering its
 * first request slowly — and with one shared timer such a token turned a reachable server into an
 * ETIMEOUT that no retry follows. Split, neither wait eats into the other's bound, and each failure
 * still says which side was slow ("could not be reached (ETIMEOUT)" or "No token … within
 * connectTimeoutMs"). tedious's own timer stays on as a backstop, set above both bounds together.
 *
 * Time is counted against the server while the attempt is not waiting for the token, and against
 * the token while it is; a redirect to the node (tedious connects anew, and restarts its own timer)
 * starts the server's count again.
 */
export class LoginTimeouts {
  readonly #limitMs: number;
  readonly #onTimeout: (kind: LoginTimeoutKind) => void;
  readonly #now: () => number;
  /** Server time used before the current stretch (stretches are split by token waits). */
  #serverUsedMs = 0;
  /** When the current stretch of server time began; undefined while waiting for the token. */
  #serverSince: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #expired: LoginTimeoutKind | undefined;

  constructor(
    limitMs: number,
    onTimeout: (kind: LoginTimeoutKind) => void,
    now: () => number = performance.now.bind(performance),
  ) {
    this.#limitMs = limitMs;
    this.#onTimeout = onTimeout;
    this.#now = now;
  }

  /** Which bound ran out, if one did. */
  get expired(): LoginTimeoutKind | undefined {
    return this.#expired;
  }

  /** Tedious's backstop: both bounds, one after the other, and a second to tell which fired. */
  static backstopMs(limitMs: number): number {
    return 2 * limitMs + 1_000;
  }

  start(): void {
    this.#serverSince = this.#now();
    this.#arm('server', this.#limitMs);
  }

  tokenWaitBegins(): void {
    if (this.#expired !== undefined || this.#serverSince === undefined) return;
    this.#serverUsedMs += this.#now() - this.#serverSince;
    this.#serverSince = undefined;
    this.#arm('token', this.#limitMs);
  }

  tokenWaitEnds(): void {
    if (this.#expired !== undefined || this.#serverSince !== undefined) return;
    this.#serverSince = this.#now();
    this.#arm('server', this.#limitMs - this.#serverUsedMs);
  }

  /** The gateway redirected the login: the node gets a full bound, as tedious's own timer does. */
  rerouted(): void {
    if (this.#expired !== undefined) return;
    this.#serverUsedMs = 0;
    if (this.#serverSince === undefined) return;
    this.#serverSince = this.#now();
    this.#arm('server', this.#limitMs);
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(kind: LoginTimeoutKind, milliseconds: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(
      () => {
        this.#expired = kind;
        this.#timer = undefined;
        this.#onTimeout(kind);
      },
      Math.max(0, milliseconds),
    );
    // The login's socket or token request keeps a process alive while it matters; this timer never does.
    this.#timer.unref();
  }
}
