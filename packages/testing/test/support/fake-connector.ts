/**
 * A connector small enough to break on purpose: the conformance groups must report each defect
 * listed here, and must pass the connector without defects (the control). It is written as
 * erasable TypeScript (no enums, no parameter properties, `.ts` imports) so that a one-off script
 * run by plain Node can import it too.
 */
import { connect as connectSocket, type Socket } from 'node:net';
import {
  AuthenticationFailedError,
  ClosedError,
  ConfigurationError,
  ServiceUnavailableError,
  type TokenProvider,
} from '@keyless/core';
import {
  assertNoWeakenedTls,
  assertSecretDestination,
  portSchema,
  resolveServiceUrl,
  resolveSetting,
} from '@keyless/core/internal';

export type FakeDefect =
  // Configuration
  | 'missing-error-names-only-the-option'
  | 'missing-error-is-a-plain-error'
  | 'variable-wins-over-option'
  | 'ignores-variable'
  | 'malformed-error-hides-its-source'
  | 'accepts-weakened-tls'
  | 'tls-error-names-no-path'
  | 'ignores-tls-verification-variable'
  // Lifecycle
  | 'async-factory'
  | 'connects-in-factory'
  | 'connects-at-construction'
  | 'fetches-token-at-construction'
  | 'close-not-idempotent'
  | 'no-closed-check'
  | 'no-connect'
  | 'connect-hangs'
  | 'connect-untyped-error'
  | 'close-leaves-timer';

export interface FakeConnectorOptions {
  /** The server, `https://host[:port]` — else KEYLESS_FAKE_URL; required. */
  url?: string;
  /** Overrides the URL's port — else KEYLESS_FAKE_PORT. */
  port?: number;
  tls?: { ca?: string; rejectUnauthorized?: boolean; servername?: string };
  tokenProvider: TokenProvider;
}

export const urlVariable = 'KEYLESS_FAKE_URL';
export const portVariable = 'KEYLESS_FAKE_PORT';
export const fakeScope = 'https://fake.example/.default';

export interface FakeConnector {
  use(): Promise<string>;
  connect?(): Promise<void>;
  close(): Promise<void>;
}

/** The fake's factory: synchronous and lazy unless a defect says otherwise. */
export function createFakeConnector(
  options: FakeConnectorOptions,
  defects: readonly FakeDefect[] = [],
): FakeConnector {
  const has = (defect: FakeDefect) => defects.includes(defect);
  if (!has('accepts-weakened-tls')) {
    if (has('tls-error-names-no-path')) {
      if (options.tls?.rejectUnauthorized === false || options.tls?.servername !== undefined) {
        throw new ConfigurationError('TLS verification cannot be weakened');
      }
    } else {
      assertNoWeakenedTls(options, '', { service: 'Fake' });
    }
  }
  const url = new URL(resolveUrl(options, has));
  const host = url.hostname;
  const port = resolvePort(options, has) ?? (url.port === '' ? 443 : Number(url.port));
  if (!has('ignores-tls-verification-variable')) {
    assertSecretDestination({ service: 'Fake', host, tls: true }, process.env);
  }
  const connector = new KeylessFakeConnector(host, port, options.tokenProvider, has);
  if (has('connects-at-construction')) void connector.open().catch(() => {});
  if (has('fetches-token-at-construction')) void options.tokenProvider.getToken(fakeScope).catch(() => {});
  if (has('connects-in-factory')) {
    return connector.open().then(() => connector) as unknown as FakeConnector;
  }
  if (has('async-factory')) return Promise.resolve(connector) as unknown as FakeConnector;
  return connector;
}

function resolveUrl(options: FakeConnectorOptions, has: (defect: FakeDefect) => boolean): string {
  const setting = {
    service: 'Fake',
    example: 'https://fake.example',
    option: 'url',
    variable: urlVariable,
    value: options.url,
  };
  const given = options.url !== undefined || process.env[urlVariable] !== undefined;
  if (has('missing-error-names-only-the-option') && !given) {
    throw new ConfigurationError('No fake URL is configured', { hint: 'set the option `url`' });
  }
  if (has('missing-error-is-a-plain-error') && !given) {
    throw new Error(`set the option \`url\` or ${urlVariable}`);
  }
  if (has('variable-wins-over-option') && process.env[urlVariable] !== undefined) {
    return resolveServiceUrl({ ...setting, value: undefined });
  }
  // Core's message names the option and the variable; it never gets to read the variable.
  if (has('ignores-variable')) return resolveServiceUrl({ ...setting, environment: {} });
  return resolveServiceUrl(setting);
}

function resolvePort(
  options: FakeConnectorOptions,
  has: (defect: FakeDefect) => boolean,
): number | undefined {
  if (has('malformed-error-hides-its-source')) {
    // Reads the variable itself and hands core the value as if it were the option's.
    return resolveSetting(portSchema, { option: 'port', value: options.port ?? process.env[portVariable] })
      .value;
  }
  const variableWins = has('variable-wins-over-option') && process.env[portVariable] !== undefined;
  return resolveSetting(portSchema, {
    option: 'port',
    value: variableWins ? undefined : options.port,
    variables: [portVariable],
  }).value;
}

class KeylessFakeConnector implements FakeConnector {
  readonly #host: string;
  readonly #port: number;
  readonly #tokenProvider: TokenProvider;
  readonly #has: (defect: FakeDefect) => boolean;
  readonly #sockets = new Set<Socket>();
  #keepAlive: NodeJS.Timeout | undefined;
  #closed = false;
  readonly connect: (() => Promise<void>) | undefined;

  constructor(
    host: string,
    port: number,
    tokenProvider: TokenProvider,
    has: (defect: FakeDefect) => boolean,
  ) {
    this.#host = host;
    this.#port = port;
    this.#tokenProvider = tokenProvider;
    this.#has = has;
    this.connect = has('no-connect') ? undefined : () => this.#connect();
  }

  async use(): Promise<string> {
    if (this.#closed && !this.#has('no-closed-check')) throw new ClosedError('FakeConnector');
    await this.#open();
    return 'used';
  }

  async close(): Promise<void> {
    if (this.#closed && this.#has('close-not-idempotent')) throw new Error('already closed');
    this.#closed = true;
    if (!this.#has('close-leaves-timer')) clearInterval(this.#keepAlive);
    for (const socket of this.#sockets) socket.destroy();
  }

  /** What connect() does, whether or not the defect 'no-connect' hides it. */
  open(): Promise<void> {
    return this.#connect();
  }

  async #connect(): Promise<void> {
    if (this.#has('connect-hangs')) return new Promise(() => {});
    if (this.#closed) throw new ClosedError('FakeConnector');
    // A keep-alive timer, as drivers have; close() must clear it.
    this.#keepAlive ??= setInterval(() => {}, 60_000);
    await this.#open();
  }

  /** Asks for a token, then opens a TCP connection to the server and keeps it. */
  async #open(): Promise<void> {
    await this.#tokenProvider.getToken(fakeScope);
    await new Promise<void>((resolve, reject) => {
      const socket = connectSocket({ host: this.#host, port: this.#port });
      this.#sockets.add(socket);
      socket.once('connect', () => resolve());
      socket.once('error', (error) => {
        this.#sockets.delete(socket);
        reject(
          this.#has('connect-untyped-error')
            ? error
            : new ServiceUnavailableError(
                `the fake server at ${this.#host}:${this.#port} could not be reached`,
                {
                  cause: error,
                  hint: 'start the fake server',
                },
              ),
        );
      });
    });
  }
}

export type FakeMappingDefect =
  | 'copies-native-message'
  | 'keeps-native-error-as-cause'
  | 'wrong-class'
  | 'wrong-retryable'
  | 'vague-hint'
  | 'replaces-application-errors';

/** The fake's error mapping; a driver's errors carry `code`, and an AUTH command its arguments. */
export function mapFakeError(native: unknown, defects: readonly FakeMappingDefect[] = []): unknown {
  const has = (defect: FakeMappingDefect) => defects.includes(defect);
  const error = native as Error & { code?: string };
  // What is kept of the native error: its name and code. Not its message (a server may echo the
  // password in it), nor the command it carried (an AUTH command carries the token).
  const cause = has('keeps-native-error-as-cause')
    ? native
    : Object.assign(new Error(`${error.name} ${error.code}`), { code: error.code });
  const detail = has('copies-native-message') ? `: ${error.message}` : '';
  if (error.code === 'ECONNREFUSED') {
    return new ServiceUnavailableError(`the fake server refused the connection${detail}`, {
      cause,
      hint: 'check that the fake server is running and the port is right',
      retryable: !has('wrong-retryable'),
    });
  }
  if (error.code === 'WRONGPASS') {
    const hint = has('vague-hint')
      ? 'check your configuration'
      : 'grant the identity the Fake Data Reader role';
    return has('wrong-class')
      ? new ServiceUnavailableError(`the fake server refused the login${detail}`, { cause, hint })
      : new AuthenticationFailedError(`the fake server refused the login${detail}`, { cause, hint });
  }
  if (has('replaces-application-errors')) {
    return new ServiceUnavailableError('the fake server failed', { cause });
  }
  return native;
}
