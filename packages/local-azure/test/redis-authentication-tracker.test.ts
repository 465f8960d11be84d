import { describe, expect, it } from 'vitest';
import { AuthenticationTracker, type PasswordJudge } from '../src/redis/authentication-tracker.js';

// The gateway's bookkeeping without sockets: the byte streams are what redis-server 7.0 sent for
// these exchanges, fed whole and one byte at a time (TCP may split anywhere).

const expiries: Record<string, number> = { 'token-1': 1_000, 'token-2': 2_000 };
const judge: PasswordJudge = {
  expiryOf: (user, password) => (user === 'oid' ? expiries[password] : undefined),
  accepts: (user, password) => user === 'oid' && password in expiries,
};

function command(...args: string[]): string {
  return `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`;
}

/** Plays client and server bytes in order; returns the expiry the tracker ends with. */
function play(exchange: Array<['client' | 'server', string]>, byteByByte: boolean): number | undefined {
  const tracker = new AuthenticationTracker(judge, () => {});
  for (const [side, text] of exchange) {
    const bytes = Buffer.from(text);
    const chunks = byteByByte ? [...bytes].map((byte) => Buffer.from([byte])) : [bytes];
    for (const chunk of chunks) {
      if (side === 'client') tracker.fromClient(chunk);
      else tracker.fromServer(chunk);
    }
  }
  return tracker.expiresAtMs;
}

const hello3Reply =
  '%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:8\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n';

const cases: Array<[string, Array<['client' | 'server', string]>, number | undefined]> = [
  [
    'AUTH accepted',
    [
      ['client', command('AUTH', 'oid', 'token-1')],
      ['server', '+OK\r\n'],
    ],
    1_000,
  ],
  [
    'a refused re-AUTH keeps the first token',
    [
      ['client', command('AUTH', 'oid', 'token-1') + command('AUTH', 'oid', 'token-x')],
      ['server', '+OK\r\n-WRONGPASS invalid username-password pair or user is disabled.\r\n'],
    ],
    1_000,
  ],
  [
    'HELLO 3 AUTH, then pushes between replies, then a re-AUTH',
    [
      ['client', command('HELLO', '3', 'AUTH', 'oid', 'token-1') + command('SUBSCRIBE', 'x')],
      ['server', `${hello3Reply}>3\r\n$9\r\nsubscribe\r\n$1\r\nx\r\n:1\r\n`],
      ['client', command('AUTH', 'oid', 'token-2')],
      ['server', '>3\r\n$7\r\nmessage\r\n$1\r\nx\r\n$2\r\nhi\r\n+OK\r\n'],
    ],
    2_000,
  ],
  [
    'RESP2 subscriber: AUTH refused, a message array is not a reply',
    [
      [
        'client',
        command('AUTH', 'oid', 'token-1') + command('SUBSCRIBE', 'x') + command('AUTH', 'oid', 'token-2'),
      ],
      [
        'server',
        "+OK\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nx\r\n:1\r\n*3\r\n$7\r\nmessage\r\n$1\r\nx\r\n$2\r\nhi\r\n-ERR Can't execute 'auth': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n",
      ],
    ],
    1_000,
  ],
  [
    'RESP2: UNSUBSCRIBE x y answers twice, then AUTH works again',
    [
      [
        'client',
        command('AUTH', 'oid', 'token-1') + command('SUBSCRIBE', 'x') + command('UNSUBSCRIBE', 'x', 'y'),
      ],
      [
        'server',
        '+OK\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nx\r\n:1\r\n*3\r\n$11\r\nunsubscribe\r\n$1\r\nx\r\n:0\r\n*3\r\n$11\r\nunsubscribe\r\n$1\r\ny\r\n:0\r\n',
      ],
      ['client', command('LRANGE', 'list', '0', '-1') + command('AUTH', 'oid', 'token-2')],
      // A list whose first element is "message" is a reply, not a pub/sub message, outside subscriber mode.
      ['server', '*2\r\n$7\r\nmessage\r\n$1\r\nx\r\n+OK\r\n'],
    ],
    2_000,
  ],
  [
    'MULTI … EXEC runs the queued AUTH',
    [
      [
        'client',
        command('AUTH', 'oid', 'token-1') +
          command('MULTI') +
          command('AUTH', 'oid', 'token-2') +
          command('EXEC'),
      ],
      ['server', '+OK\r\n+OK\r\n+QUEUED\r\n*1\r\n+OK\r\n'],
    ],
    2_000,
  ],
  [
    'MULTI … DISCARD drops it',
    [
      [
        'client',
        command('AUTH', 'oid', 'token-1') +
          command('MULTI') +
          command('AUTH', 'oid', 'token-2') +
          command('DISCARD'),
      ],
      ['server', '+OK\r\n+OK\r\n+QUEUED\r\n+OK\r\n'],
    ],
    1_000,
  ],
  [
    'EXEC aborted by WATCH (null) runs nothing',
    [
      [
        'client',
        command('AUTH', 'oid', 'token-1') +
          command('MULTI') +
          command('AUTH', 'oid', 'token-2') +
          command('EXEC'),
      ],
      ['server', '+OK\r\n+OK\r\n+QUEUED\r\n*-1\r\n'],
    ],
    1_000,
  ],
  [
    'an AUTH refused inside EXEC does not count',
    [
      [
        'client',
        command('AUTH', 'oid', 'token-1') +
          command('MULTI') +
          command('AUTH', 'oid', 'token-x') +
          command('EXEC'),
      ],
      ['server', '+OK\r\n+OK\r\n+QUEUED\r\n*1\r\n-WRONGPASS invalid username-password pair\r\n'],
    ],
    1_000,
  ],
  [
    'RESET forgets the token',
    [
      ['client', command('AUTH', 'oid', 'token-1') + command('RESET')],
      ['server', '+OK\r\n+RESET\r\n'],
    ],
    undefined,
  ],
  [
    'a password user has no expiry',
    [
      ['client', command('AUTH', 'oid', 'token-1') + command('AUTH', 'app', 'secret')],
      ['server', '+OK\r\n+OK\r\n'],
    ],
    undefined,
  ],
  [
    'big values are skipped by length, inline commands read',
    [
      ['client', `${command('SET', 'k', 'v'.repeat(100_000))}AUTH oid token-2\r\n`],
      ['server', '+OK\r\n+OK\r\n'],
      ['client', command('GET', 'k')],
      ['server', `$100000\r\n${'v'.repeat(100_000)}\r\n`],
    ],
    2_000,
  ],
  [
    'after CLIENT REPLY OFF, an AUTH counts when the launcher accepts the password',
    [
      [
        'client',
        command('AUTH', 'oid', 'token-1') +
          command('CLIENT', 'REPLY', 'OFF') +
          command('AUTH', 'oid', 'token-2'),
      ],
      ['server', '+OK\r\n'],
    ],
    2_000,
  ],
];

describe('AuthenticationTracker', () => {
  it.each(cases)('%s', (_name, exchange, expected) => {
    expect(play(exchange, false)).toBe(expected);
    expect(play(exchange, true)).toBe(expected);
  });

  it('reports each change of expiry once', () => {
    const changes: Array<number | undefined> = [];
    const tracker = new AuthenticationTracker(judge, (expiresAtMs) => changes.push(expiresAtMs));
    tracker.fromClient(Buffer.from(command('AUTH', 'oid', 'token-1') + command('AUTH', 'oid', 'token-1')));
    tracker.fromServer(Buffer.from('+OK\r\n+OK\r\n'));
    tracker.fromClient(Buffer.from(command('AUTH', 'app', 'secret')));
    tracker.fromServer(Buffer.from('+OK\r\n'));
    expect(changes).toEqual([1_000, undefined]);
  });

  it('stops pairing replies after bytes that are not RESP, instead of guessing', () => {
    const tracker = new AuthenticationTracker(judge, () => {});
    tracker.fromClient(Buffer.from(command('AUTH', 'oid', 'token-1')));
    tracker.fromServer(Buffer.from('?what\r\n'));
    expect(tracker.pairingReplies).toBe(false);
    expect(tracker.expiresAtMs).toBeUndefined();
  });
});
