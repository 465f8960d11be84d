import { type Connection, Request } from 'tedious';
import { addParameters, type SqlParameter } from './parameter-typing.js';
import { connectionLostError, mapQueryError } from './query-error-mapping.js';

/** What tedious's 'row' event carries per column (it types the argument as `any`). */
interface ColumnValue {
  metadata: { colName: string };
  value: unknown;
}

/**
 * One logged-in tedious connection as the pool holds it: its age (for the maximum lifetime), and
 * whether anything went wrong on it (then it is never handed out again).
 */
export class PooledConnection {
  readonly connection: Connection;
  readonly createdAt: number;
  readonly #describeServer: string;
  #broken = false;
  #ended = false;
  #closing: Promise<void> | undefined;
  #onLost: (() => void) | undefined;

  constructor(connection: Connection, describeServer: string, now: number) {
    this.connection = connection;
    this.createdAt = now;
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

  /** Called once the connection has dropped (not when keyless closed it). */
  onLost(listener: () => void): void {
    this.#onLost = listener;
  }

  /** Logged in, no error seen, not closed, and (when given) younger than `maxLifetimeMs`. */
  isReusable(now: number, maxLifetimeMs: number): boolean {
    return !this.#broken && !this.#ended && !this.connection.closed && now - this.createdAt < maxLifetimeMs;
  }

  retire(): void {
    this.#broken = true;
  }

  /** A batch when there are no parameters (cheapest), else sp_executesql with typed parameters. */
  execute<Row>(sql: string, parameters: Record<string, SqlParameter> | undefined): Promise<Row[]> {
    return new Promise<Row[]>((resolve, reject) => {
      if (this.#ended || this.connection.closed) {
        this.#broken = true;
        reject(this.#lost());
        return;
      }
      const rows: Row[] = [];
      const request = new Request(sql, (error) => {
        if (!error) {
          resolve(rows);
          return;
        }
        reject(this.#classify(error));
      });
      request.on('row', (columns: ColumnValue[]) => {
        const row: Record<string, unknown> = {};
        for (let index = 0; index < columns.length; index += 1) {
          const column = columns[index] as ColumnValue;
          row[column.metadata.colName || `column${index}`] = column.value;
        }
        rows.push(row as Row);
      });
      const hasParameters = parameters !== undefined && Object.keys(parameters).length > 0;
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

  beginTransaction(): Promise<void> {
    return this.#transactionStep((callback) => this.connection.beginTransaction(callback));
  }

  commitTransaction(): Promise<void> {
    return this.#transactionStep((callback) => this.connection.commitTransaction(callback));
  }

  rollbackTransaction(): Promise<void> {
    return this.#transactionStep((callback) => this.connection.rollbackTransaction(callback));
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

  #transactionStep(start: (callback: (error?: Error | null) => void) => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.#ended || this.connection.closed) {
        this.#broken = true;
        reject(this.#lost());
        return;
      }
      start((error) => (error ? reject(this.#classify(error)) : resolve()));
    });
  }

  /** The failed request's error for the caller; a connection in an unknown state is never handed out again. */
  #classify(error: Error): Error {
    const failure = mapQueryError(error, {
      describeServer: this.#describeServer,
      connectionEnded: this.#ended,
    });
    if (failure.connectionBroken) this.#broken = true;
    return failure.error;
  }

  #lost(): Error {
    return connectionLostError(this.#describeServer);
  }
}
