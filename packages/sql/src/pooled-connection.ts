import { ServiceUnavailableError } from '@keyless/core';
import { type Connection, Request, RequestError } from 'tedious';
import { addParameters, type SqlParameter } from './parameter-typing.js';

/** What tedious's 'row' event carries per column (it types the argument as `any`). */
interface ColumnValue {
  metadata: { colName: string };
  value: unknown;
}

/** Client-side codes after which the connection's state is unknown: it is closed, not reused. */
const connectionLostCodes = new Set(['ESOCKET', 'ECLOSE', 'EINVALIDSTATE', 'ECONNRESET']);

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

  /**
   * A server error (it has a number) leaves the connection usable: that is the application's
   * business and is returned as tedious reported it. Anything else means the connection's state is
   * unknown; a lost connection becomes `unavailable`.
   */
  #classify(error: Error): Error {
    if (error instanceof RequestError && error.number !== undefined) return error;
    this.#broken = true;
    const code = (error as { code?: unknown }).code;
    if (this.#ended || (typeof code === 'string' && connectionLostCodes.has(code))) return this.#lost(error);
    return error;
  }

  #lost(cause?: Error): ServiceUnavailableError {
    return new ServiceUnavailableError(`The connection to Azure SQL at ${this.#describeServer} was lost`, {
      cause,
      hint: 'the server closed the connection or became unreachable (failover, restart, network); the next query opens a new one',
    });
  }
}
