import { type TransientLoginErrorNumber, transientLoginErrorNumbers } from './transient-errors.js';

/** What a reconfiguration does to sessions that were logged in when it began. */
export type ExistingSessionsDuringReconfiguration = 'close-when-idle' | 'keep' | 'kill';

/** Options of `faults.reconfigure()`. */
export interface ReconfigureOptions {
  /** How long new logins are refused, in milliseconds. */
  durationMs: number;
  /** The transient error new logins get; default 40613 ("Database … is not currently available"). */
  errorNumber?: TransientLoginErrorNumber;
  /**
   * `'close-when-idle'` (default): each logged-in session is closed once its request in flight has
   * been answered (an idle one at once); `'keep'`: left alone; `'kill'`: cut at once, mid-request.
   */
  existingSessions?: ExistingSessionsDuringReconfiguration;
}

/** The errors Azure SQL answers a statement with when it re-validates an expired login token. */
export type TokenRecheckErrorNumber = 18456 | 37396;

/** Options of `faults.recheckTokenOnEveryStatement()`. */
export interface TokenRecheckOptions {
  /**
   * 18456 (default): "Login failed for user '<token-identified principal>'. Token is expired.";
   * 37396: "Query cannot be executed, access token is expired. …". The session is closed after either.
   */
  errorNumber?: TokenRecheckErrorNumber;
}

/** Azure's time and topology, for tests: reconfigurations and mid-session token checks. */
export interface SqlEndpointFaults {
  /**
   * Starts a reconfiguration, as patching, scaling, failover or a serverless resume does: for
   * `durationMs` every new login is refused with a transient error, and the sessions already logged
   * in are treated as `existingSessions` says. Calling it again replaces the running one.
   */
  reconfigure(options: ReconfigureOptions): void;
  /** True while a reconfiguration refuses logins. */
  readonly reconfiguring: boolean;
  /**
   * While enabled, every request re-validates the session's login token (the endpoint's verifier,
   * its clock); an expired one is answered with 18456 "… Token is expired." (or 37396) and the
   * session is closed, as Azure SQL does when it re-validates a token mid-session.
   */
  recheckTokenOnEveryStatement(enabled: boolean, options?: TokenRecheckOptions): void;
  /** Ends the reconfiguration and the token re-check. */
  clear(): void;
}

/** The state the sessions read; the endpoint applies `existingSessions` through `onReconfigure`. */
export class SqlFaultState implements SqlEndpointFaults {
  #reconfigurationEndsAt = 0;
  #reconfigurationError: TransientLoginErrorNumber = 40613;
  #recheckError: TokenRecheckErrorNumber | undefined;
  readonly #now: () => number;
  readonly #onReconfigure: (existingSessions: ExistingSessionsDuringReconfiguration) => void;

  constructor(
    onReconfigure: (existingSessions: ExistingSessionsDuringReconfiguration) => void,
    now: () => number = Date.now,
  ) {
    this.#onReconfigure = onReconfigure;
    this.#now = now;
  }

  reconfigure(options: ReconfigureOptions): void {
    const { durationMs, errorNumber = 40613, existingSessions = 'close-when-idle' } = options ?? {};
    if (typeof durationMs !== 'number' || !Number.isFinite(durationMs) || durationMs < 0) {
      throw new RangeError(
        `faults.reconfigure: durationMs must be a number of milliseconds >= 0, got ${durationMs}`,
      );
    }
    if (!transientLoginErrorNumbers.includes(errorNumber)) {
      throw new RangeError(
        `faults.reconfigure: errorNumber must be one of Azure SQL's transient errors (${transientLoginErrorNumbers.join(', ')}), got ${errorNumber}`,
      );
    }
    if (!['close-when-idle', 'keep', 'kill'].includes(existingSessions)) {
      throw new RangeError(
        "faults.reconfigure: existingSessions must be 'close-when-idle', 'keep' or 'kill'",
      );
    }
    this.#reconfigurationEndsAt = this.#now() + durationMs;
    this.#reconfigurationError = errorNumber;
    this.#onReconfigure(existingSessions);
  }

  get reconfiguring(): boolean {
    return this.#now() < this.#reconfigurationEndsAt;
  }

  /** The error a login gets now, or undefined outside a reconfiguration. */
  loginRefusal(): TransientLoginErrorNumber | undefined {
    return this.reconfiguring ? this.#reconfigurationError : undefined;
  }

  recheckTokenOnEveryStatement(enabled: boolean, options: TokenRecheckOptions = {}): void {
    const errorNumber = options.errorNumber ?? 18456;
    if (errorNumber !== 18456 && errorNumber !== 37396) {
      throw new RangeError(
        `faults.recheckTokenOnEveryStatement: errorNumber must be 18456 or 37396, got ${errorNumber}`,
      );
    }
    this.#recheckError = enabled ? errorNumber : undefined;
  }

  /** The error an expired session token gets, or undefined when statements are not re-checked. */
  get tokenRecheckError(): TokenRecheckErrorNumber | undefined {
    return this.#recheckError;
  }

  clear(): void {
    this.#reconfigurationEndsAt = 0;
    this.#recheckError = undefined;
  }
}
