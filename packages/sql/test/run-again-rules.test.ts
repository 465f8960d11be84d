// The rule that keeps a statement from running twice (src/pooled-connection.ts): a request refused
// for the session's expired token, or cut off by the session's end, may run again on another
// connection only when the server had answered nothing of it. Azure SQL re-validates the token at
// the start of a request, so the local endpoint always refuses before any answer; the other order
// (rows, then the refusal or the end) is what a server that had started the statement would send,
// and only a scripted connection can produce it. A unit test's fake backend: a stand-in for
// tedious's Connection that answers each batch as the test says, with tedious's own Request and
// RequestError.
import { EventEmitter } from 'node:events';
import { type Connection, type Request, RequestError } from 'tedious';
import { describe, expect, it } from 'vitest';
import { PooledConnection, runAgainReason } from '../src/pooled-connection.ts';

/** tedious's Request as the server's side sees it: events to emit, and the completion callback. */
type Answer = (request: EventEmitter & { callback: (error?: Error) => void }) => void;

/** Answers every batch with `answer`, a tick after it is sent, as a socket would. */
class ScriptedConnection extends EventEmitter {
  closed = false;
  readonly #answer: Answer;

  constructor(answer: Answer) {
    super();
    this.#answer = answer;
  }

  execSqlBatch(request: Request): void {
    setImmediate(() => this.#answer(request as unknown as Parameters<Answer>[0]));
  }
}

function pooledOver(answer: Answer): PooledConnection {
  const connection = new ScriptedConnection(answer) as unknown as Connection;
  const pooled = new PooledConnection(connection, 'sql.local:1433/app', Date.now());
  pooled.loggedIn(Date.now(), Date.now() + 3_600_000);
  return pooled;
}

/** What Azure SQL answers a statement whose session token it found expired (number 18456, state 233). */
function tokenExpiredRefusal(): RequestError {
  const error = new RequestError(
    "Login failed for user '<token-identified principal>'. Token is expired.",
    'EREQUEST',
  );
  Object.assign(error, { number: 18456, state: 233, class: 14 });
  return error;
}

function connectionReset(): Error {
  return Object.assign(new Error('Connection lost - read ECONNRESET'), { code: 'ESOCKET' });
}

const oneRow = [{ metadata: { colName: 'id' }, value: 1 }];

async function failureOf(pooled: PooledConnection): Promise<Error> {
  const error = await pooled.execute('UPDATE orders SET shipped = 1 OUTPUT inserted.id', undefined).then(
    () => undefined,
    (failure: unknown) => failure as Error,
  );
  expect(error, 'the request should have failed').toBeInstanceOf(Error);
  return error as Error;
}

describe('whether a failed request may run again', () => {
  it('refused for an expired token before any answer: once more, on a fresh login', async () => {
    const error = await failureOf(pooledOver((request) => request.callback(tokenExpiredRefusal())));
    expect(runAgainReason(error)).toBe('token-expired');
    expect(error).toMatchObject({ code: 'unavailable' });
  });

  it('refused for an expired token after a row: never again (the statement had started)', async () => {
    const pooled = pooledOver((request) => {
      request.emit('columnMetadata', [{ colName: 'id' }]);
      request.emit('row', oneRow);
      request.callback(tokenExpiredRefusal());
    });
    const error = await failureOf(pooled);
    expect(runAgainReason(error)).toBeUndefined();
    // Still the typed error, and the connection is not handed out again.
    expect(error).toMatchObject({ code: 'unavailable' });
    expect(pooled.isReusable(Date.now(), Number.POSITIVE_INFINITY)).toBe(false);
  });

  it('refused after a statement of the batch was done: never again', async () => {
    const pooled = pooledOver((request) => {
      request.emit('doneInProc', 1, false);
      request.callback(tokenExpiredRefusal());
    });
    expect(runAgainReason(await failureOf(pooled))).toBeUndefined();
  });

  it('cut off by the session’s end before any answer: once more', async () => {
    const error = await failureOf(pooledOver((request) => request.callback(connectionReset())));
    expect(runAgainReason(error)).toBe('closed-unanswered');
  });

  it('cut off by the session’s end after its column metadata: never again', async () => {
    const pooled = pooledOver((request) => {
      request.emit('columnMetadata', [{ colName: 'id' }]);
      request.callback(connectionReset());
    });
    const error = await failureOf(pooled);
    expect(runAgainReason(error)).toBeUndefined();
    expect(error).toMatchObject({ code: 'unavailable' });
  });
});
