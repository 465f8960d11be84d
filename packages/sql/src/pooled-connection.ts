import { type Connection, Request } from 'tedious';
import { addParameters, type SqlParameter } from './parameter-typing.js';
import { connectionLostError, mapQueryError } from './query-error-mapping.js';
import { sessionEndedByServer } from './session-end.js';
import { tokenReuseDeadline } from './token-reuse-deadline.js';

/**
 * Why a failed request may run again on another connection without running anything twice:
 * - `token-expired`: Azure SQL refused it because the session's token had expired, before the
 *   statement ran (a re-validation at the start of the request, with nothing — no column metadata,
 *   no row, no DONE of a statement — answered before it). Runs again once, on a fresh login.
 * - `not-sent`: the session had already ended (the server closed it, or the socket dropped) before
 *   the request was sent, so the server never saw it.
 * - `closed-unanswered`: the session ended after the request was sent and before a single byte of
 *   its answer. A server closes sessions between requests (Azure SQL does so to every session of a
 *   database being reconfigured), and a close already on its way when the request left looks the
 *   same from here. A server that had started the statement answers it or reports an error; what
 *   is left is a statement that ran to its commit and lost its whole answer with the session, which
 *   is why this runs again only once and never inside a transaction (the README says so).
 */
export type RunAgainReason = 'token-expired' | 'not-sent' | 'closed-unanswered';

const runAgainReasons = new WeakMap<Error, RunAgainReason>();

/** Why `error`'s request may run again on another connection, or undefined when it may not. */
export function runAgainReason(error: unknown): RunAgainReason | undefined {
  return error instanceof Error ? runAgainReasons.get(error) : undefined;
}

/** What tedious's 'row' event carries per column (it types the argument as `any`). */
interface ColumnValue {
  metadata: { colName: string };
  value: unknown;
}

/** `column<index>` for unnamed columns, made once rather than for every row. */
const unnamedColumns = Array.from({ length: 16 }, (_, index) => `column${index}`);

/**
 * A request that keeps its rows, and whether the server has answered anything of it, on itself
 * (private fields: tedious sets public ones of its own on a request, `rows` among them), so that its
 * listeners are the two shared functions below — Node calls a listener with the emitter as `this` —
 * rather than closures made for every query (issue 11: the query path's own cost).
 */
class QueryRequest extends Request {
  readonly #rows: Record<string, unknown>[] = [];
  /** Anything the server answered for a statement before an error: then it had started to run. */
  #answered = false;

  get collectedRows(): Record<string, unknown>[] {
    return this.#rows;
  }

  get answered(): boolean {
    return this.#answered;
  }

  noteAnswer(): void {
    this.#answered = true;
  }

  /** The row as an object by column name. */
  addRow(columns: ColumnValue[]): void {
    this.#answered = true;
    const row: Record<string, unknown> = {};
    for (let index = 0; index < columns.length; index += 1) {
      const column = columns[index] as ColumnValue;
      row[column.metadata.colName || (unnamedColumns[index] ?? `column${index}`)] = column.value;
    }
    this.#rows.push(row);
  }
}

/** The listener for columnMetadata, doneInProc and doneProc. */
function markAnswered(this: QueryRequest): void {
  this.noteAnswer();
}

/** The listener for row. */
function collectRow(this: QueryRequest, columns: ColumnValue[]): void {
  this.addRow(columns);
}

/**
 * One logged-in tedious connection as the pool holds it: its age (for the maximum lifetime), the
 * expiry of the token it logged in with, and whether anything went wrong on it (then it is never
 * handed out again).
 */
export class PooledConnection {
  readonly connection: Connection;
  readonly createdAt: number;
  /** Since when the connection has been idle in the pool (set by the pool, for idleTimeoutMs). */
  idleSince: number;
  /** Handed out by the pool and not released yet (set by the pool). */
  lent = false;
  /** When the token this session logged in with expires (undefined: the credential did not say). */
  #tokenExpiresOn: number | undefined;
  /** Not handed out after this: the token's expiry minus a margin (token-reuse-deadline.ts). */
  #reuseUntil = Number.POSITIVE_INFINITY;
  readonly #describeServer: string;
  #broken = false;
  #ended = false;
  #closing: Promise<void> | undefined;
  #onLost: (() => void) | undefined;

  constructor(connection: Connection, describeServer: string, now: number) {
    this.connection = connection;
    this.createdAt = now;
    this.idleSince = now;
    this.#describeServer = describeServer;
    // A dropped connection emits 'error'; without a listener Node would end the process.
    connection.on('error', () => {
      this.#broken = true;
      this.#onLost?.();
    });
    connection.on('end', () => {
      this.#ended = true;
      this.#broken = true;
      this.#onLost?.();
    });
  }

  /** Records the finished login: the expiry of the token the session logged in with. */
  loggedIn(at: number, tokenExpiresOn: number | undefined): void {
    this.#tokenExpiresOn = tokenExpiresOn;
    this.#reuseUntil = tokenReuseDeadline(at, tokenExpiresOn);
  }

  get tokenExpiresOn(): number | undefined {
    return this.#tokenExpiresOn;
  }

  /** Called once the connection has dropped (not when keyless closed it). */
  onLost(listener: () => void): void {
    this.#onLost = listener;
  }

  /**
   * Logged in, no error seen, not closed, younger than `maxLifetimeMs`, and its login token not
   * within its margin of expiring.
   */
  isReusable(now: number, maxLifetimeMs: number): boolean {
    return (
      !this.#broken &&
      !this.#ended &&
      !this.connection.closed &&
      !sessionEndedByServer(this.connection) &&
      now - this.createdAt < maxLifetimeMs &&
      now < this.#reuseUntil
    );
  }

  /** Known to be unusable: an error or its end was seen, or it was retired or closed. */
  isRetired(): boolean {
    return this.#broken;
  }

  retire(): void {
    this.#broken = true;
  }

  /**
   * A batch when there are no parameters (cheapest), else sp_executesql with typed parameters.
   * Per query this allocates the promise, the request and its completion callback, nothing more:
   * the listeners are shared functions that keep their state on the request (QueryRequest).
   */
  execute<Row>(sql: string, parameters: Record<string, SqlParameter> | undefined): Promise<Row[]> {
    return new Promise<Row[]>((resolve, reject) => {
      if (this.#sessionOver()) {
        reject(this.#notSent());
        return;
      }
      const request: QueryRequest = new QueryRequest(sql, (error) => {
        if (!error) resolve(request.collectedRows as Row[]);
        else reject(this.#classify(error, !request.answered));
      });
      const hasParameters = parameters !== undefined && Object.keys(parameters).length > 0;
      request.on('columnMetadata', markAnswered);
      request.on('doneInProc', markAnswered);
      // Only sp_executesql (a procedure call) ends with DONEPROC; a batch never does, so it skips this listener.
      if (hasParameters) request.on('doneProc', markAnswered);
      request.on('row', collectRow);
      if (hasParameters) {
        try {
          addParameters(request, parameters);
        } catch (error) {
          reject(error);
          return;
        }
        this.connection.execSql(request);
      } else {
        this.connection.execSqlBatch(request);
      }
    });
  }

  /** BEGIN runs nothing of the application's: refused for an expired token, it may run again elsewhere. */
  beginTransaction(): Promise<void> {
    return this.#transactionStep((callback) => this.connection.beginTransaction(callback), true);
  }

  commitTransaction(): Promise<void> {
    return this.#transactionStep((callback) => this.connection.commitTransaction(callback), false);
  }

  rollbackTransaction(): Promise<void> {
    return this.#transactionStep((callback) => this.connection.rollbackTransaction(callback), false);
  }

  /** Idempotent; resolves once tedious has closed the socket. */
  close(): Promise<void> {
    this.#broken = true;
    this.#onLost = undefined;
    this.#closing ??= new Promise<void>((resolve) => {
      if (this.#ended || this.connection.closed) {
        resolve();
        return;
      }
      this.connection.once('end', () => resolve());
      this.connection.close();
    });
    return this.#closing;
  }

  #transactionStep(
    start: (callback: (error?: Error | null) => void) => void,
    runsNothing: boolean,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.#sessionOver()) {
        reject(this.#notSent());
        return;
      }
      start((error) => (error ? reject(this.#classify(error, runsNothing)) : resolve()));
    });
  }

  /**
   * The failed request's error for the caller; a connection in an unknown state (or whose session
   * token expired) is never handed out again. `notStarted`: nothing of the request was answered.
   */
  #classify(error: Error, notStarted: boolean): Error {
    const failure = mapQueryError(error, {
      describeServer: this.#describeServer,
      connectionEnded: this.#sessionOver(),
    });
    if (failure.connectionBroken) this.#broken = true;
    if (failure.sessionTokenExpired && notStarted) runAgainReasons.set(failure.error, 'token-expired');
    if (failure.connectionLost && notStarted) runAgainReasons.set(failure.error, 'closed-unanswered');
    return failure.error;
  }

  /** The session ended before this request: tedious's own end, or the server's it has not noticed yet. */
  #sessionOver(): boolean {
    return this.#ended || this.connection.closed || sessionEndedByServer(this.connection);
  }

  /** A request that was never sent: the connection is retired, and the request may run on another. */
  #notSent(): Error {
    this.#broken = true;
    const error = connectionLostError(this.#describeServer);
    runAgainReasons.set(error, 'not-sent');
    return error;
  }
}
