import { ClosedError } from '@keyless/core';
import type { SqlParameter } from './parameter-typing.js';
import type { PooledConnection } from './pooled-connection.js';

/** The work function's handle on an open transaction. */
export interface SqlTransaction {
  /** Runs on the transaction's connection; calls are queued, so `Promise.all` over them is safe. */
  query<Row = Record<string, unknown>>(
    sql: string,
    parameters?: Record<string, SqlParameter>,
  ): Promise<Row[]>;
}

/**
 * On a connection whose transaction has begun (the connector runs BEGIN, which it may run again on
 * a fresh login): the work, COMMIT — or ROLLBACK when the work (or the commit) throws, and the
 * work's error is rethrown. A rollback that fails leaves the connection in an unknown state, so it
 * is retired.
 */
export async function runInTransaction<T>(
  connection: PooledConnection,
  work: (transaction: SqlTransaction) => Promise<T>,
): Promise<T> {
  let finished = false;
  // tedious runs one request at a time per connection.
  let queue: Promise<unknown> = Promise.resolve();
  const transaction: SqlTransaction = {
    query<Row>(sql: string, parameters?: Record<string, SqlParameter>): Promise<Row[]> {
      if (finished) return Promise.reject(new ClosedError('SqlTransaction (its work has finished)'));
      const run = queue.then(() => connection.execute<Row>(sql, parameters));
      queue = run.catch(() => undefined);
      return run;
    },
  };
  try {
    const result = await work(transaction);
    finished = true;
    await queue;
    await connection.commitTransaction();
    return result;
  } catch (error) {
    finished = true;
    await queue;
    try {
      await connection.rollbackTransaction();
    } catch {
      connection.retire();
    }
    throw error;
  }
}
