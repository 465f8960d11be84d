import { fileURLToPath } from 'node:url';
import {
  AuthenticationFailedError,
  ClosedError,
  type KeylessAccessToken,
  ServiceUnavailableError,
  type TokenProvider,
} from '@keyless/core';
import type {
  AgainstTheStackOptions,
  ConfigurationConformanceOptions,
  ErrorMappingConformanceOptions,
  LifecycleConformanceOptions,
} from '../../src/index.js';
import {
  createFakeConnector,
  type FakeConnector,
  type FakeConnectorOptions,
  type FakeDefect,
  type FakeMappingDefect,
  mapFakeError,
  portVariable,
  urlVariable,
} from './fake-connector.ts';

/** The fake's tables for each group, as a connector's test file would write them. */

/** A provider the configuration checks never ask: nothing is fetched at construction. */
const unusedProvider = {
  getToken: () => Promise.reject(new Error('the configuration group asks for no token')),
} as unknown as TokenProvider;

export function fakeConfiguration(
  defects: readonly FakeDefect[] = [],
): ConfigurationConformanceOptions<FakeConnectorOptions, FakeConnector> {
  return {
    name: 'fake connector',
    create: (options) => createFakeConnector(options, defects),
    // Not loopback, so that NODE_TLS_REJECT_UNAUTHORIZED=0 must be refused.
    validOptions: { url: 'https://fake.example', port: 8443, tokenProvider: unusedProvider },
    settings: [
      {
        option: 'url',
        variable: urlVariable,
        required: true,
        variableValue: 'https://from-the-variable.example',
        malformed: { option: 'ftp://fake.example', variable: 'not a url' },
      },
      {
        option: 'port',
        variable: portVariable,
        variableValue: '9443',
        malformed: { option: 70_000, variable: 'eighty' },
      },
    ],
    tlsWeakening: [
      { option: 'tls.rejectUnauthorized', value: false },
      { option: 'tls.servername', value: 'another-name.example' },
      { variable: 'NODE_TLS_REJECT_UNAUTHORIZED', value: '0' },
    ],
  };
}

const fakeConnectorModule = new URL('./fake-connector.ts', import.meta.url).href;

/** The package folder: one-off scripts run there, so `@keyless/core` resolves. */
export const packageFolder = fileURLToPath(new URL('../..', import.meta.url));

export function fakeLifecycle(
  defects: readonly FakeDefect[] = [],
): LifecycleConformanceOptions<FakeConnector> {
  return {
    name: 'fake connector',
    create: (target) =>
      createFakeConnector({ url: target.url, tokenProvider: target.tokenProvider }, defects),
    use: (connector) => connector.use(),
    oneOffScript: {
      folder: packageFolder,
      // Node strips the fake's types itself: the script imports the same module the tests do.
      source: (target) => `import { createFakeConnector } from ${JSON.stringify(fakeConnectorModule)};
async function main() {
  const tokenProvider = { getToken: async () => ({ token: 'made-up', expiresOnTimestamp: Date.now() + 3600000 }) };
  const connector = createFakeConnector({ url: ${JSON.stringify(target.url)}, tokenProvider }, ${JSON.stringify(defects)});
  await connector.connect?.().catch(() => {});
  await connector.close();
  await connector.close();
  return 'closed';
}`,
    },
    // Loopback refuses a closed port at once; 2 s keeps the hang check short.
    connectBoundMs: 2_000,
  };
}

export function fakeErrorMapping(defects: readonly FakeMappingDefect[] = []): ErrorMappingConformanceOptions {
  return {
    name: 'fake connector',
    map: (native) => mapFakeError(native, defects),
    rows: [
      {
        name: 'a refused connection (ECONNREFUSED)',
        native: () =>
          Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {
            code: 'ECONNREFUSED',
            errno: -111,
            syscall: 'connect',
          }),
        expected: { class: ServiceUnavailableError, retryable: true, hint: ['fake server is running'] },
      },
      {
        name: 'a refused login carrying the AUTH command that sent the token',
        native: ({ token }) =>
          Object.assign(new Error('WRONGPASS invalid username-password pair'), {
            code: 'WRONGPASS',
            command: { name: 'auth', args: ['app', token] },
          }),
        expected: { class: AuthenticationFailedError, retryable: false, hint: ['Fake Data Reader'] },
      },
      {
        name: 'a refused login whose message echoes the password',
        native: ({ secret }) =>
          Object.assign(new Error(`WRONGPASS password ${secret} was refused`), { code: 'WRONGPASS' }),
        expected: { class: AuthenticationFailedError, retryable: false, hint: ['Fake Data Reader'] },
      },
      {
        name: "the application's own error",
        native: () => Object.assign(new Error('syntax error near SELEC'), { code: 'ESYNTAX' }),
        expected: 'unchanged',
      },
    ],
  };
}

export type StackFakeDefect = 'prints-token' | 'usable-after-close' | 'ready-asks-every-time' | 'no-ready';

/**
 * A fake whose one operation is asking for a token: enough for the checks that need the stack.
 * `defects` is read at each creation, so one stack session can serve a sound and a broken fake.
 */
export function fakeAgainstTheStack(
  defects: () => readonly StackFakeDefect[] = () => [],
): AgainstTheStackOptions {
  const resource = 'https://fake.example';
  return {
    name: 'fake connector',
    services: [],
    resource,
    create: ({ tokenProvider }) => {
      const has = (defect: StackFakeDefect) => defects().includes(defect);
      const printsToken = has('prints-token');
      const checksClosed = !has('usable-after-close');
      let closed = false;
      let last: KeylessAccessToken | undefined;
      return {
        use: async () => {
          if (closed && checksClosed) throw new ClosedError('FakeConnector');
          last = await tokenProvider.getToken(`${resource}/.default`);
          return 'used';
        },
        // A probe answers from the cache; the defect asks the endpoint each time (a claims
        // challenge is a cache key of its own).
        ...(has('no-ready')
          ? {}
          : {
              ready: async () => {
                if (closed && checksClosed) throw new ClosedError('FakeConnector');
                const scope = `${resource}/.default`;
                if (has('ready-asks-every-time')) {
                  await tokenProvider.getToken(scope, { claims: `{"probe":"${Math.random()}"}` });
                } else await tokenProvider.warmUp(scope);
              },
            }),
        close: async () => {
          closed = true;
        },
        // The token object prints as [REDACTED]; its `token` property, copied out, does not.
        printable: () => [{ lastToken: printsToken ? last?.token : last }],
      };
    },
  };
}
