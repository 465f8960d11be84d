import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../src/index.js';
import {
  assertNoWeakenedTls,
  assertSecretDestination,
  certificateFailureCode,
  credentialPrintingDebugSwitches,
  isUntrustedCertificateError,
  untrustedCertificateError,
} from '../src/internal.js';

const redis = { service: 'Redis' };

describe('assertNoWeakenedTls refuses every weakening setting, at any depth', () => {
  const refused: [string, unknown, string][] = [
    [
      'rejectUnauthorized: false',
      { tls: { rejectUnauthorized: false } },
      'redisOptions.tls.rejectUnauthorized',
    ],
    ['rejectUnauthorized: 0', { tls: { rejectUnauthorized: 0 } }, 'redisOptions.tls.rejectUnauthorized'],
    [
      'checkServerIdentity',
      { tls: { checkServerIdentity: () => undefined } },
      'redisOptions.tls.checkServerIdentity',
    ],
    ['servername', { tls: { servername: 'elsewhere.example' } }, 'redisOptions.tls.servername'],
    [
      'trustServerCertificate',
      { options: { trustServerCertificate: true } },
      'redisOptions.options.trustServerCertificate',
    ],
    ['pskCallback', { tls: { pskCallback: () => null } }, 'redisOptions.tls.pskCallback'],
    ['secureContext', { tls: { secureContext: {} } }, 'redisOptions.tls.secureContext'],
    ['sslmode no-verify', { sslmode: 'no-verify' }, 'redisOptions.sslmode'],
    [
      'inside an array',
      { nodes: [{ tls: { rejectUnauthorized: false } }] },
      'redisOptions.nodes[0].tls.rejectUnauthorized',
    ],
    ['custom httpClient', { httpClient: { sendRequest: async () => ({}) } }, 'redisOptions.httpClient'],
    ['custom Connector', { Connector: class {} }, 'redisOptions.Connector'],
  ];
  it.each(refused)('%s', (_name, options, path) => {
    const attempt = () => assertNoWeakenedTls(options, 'redisOptions', redis);
    expect(attempt).toThrow(ConfigurationError);
    expect(attempt).toThrow(`\`${path}\``);
  });

  it('accepts what keeps verification whole: ca, rejectUnauthorized: true, unrelated keys, class instances, cycles', () => {
    const cyclic: Record<string, unknown> = { tls: { ca: 'PEM', rejectUnauthorized: true } };
    cyclic.self = cyclic;
    class Provider {
      checkServerIdentity = () => undefined; // inside an instance, not an option object: not searched
    }
    expect(() =>
      assertNoWeakenedTls(
        { ...cyclic, provider: new Provider(), retries: 3, sslmode: 'verify-full' },
        'options',
        redis,
      ),
    ).not.toThrow();
    expect(() => assertNoWeakenedTls(undefined, 'options', redis)).not.toThrow();
  });
});

describe('assertSecretDestination', () => {
  it('lets anything go to loopback', () => {
    for (const host of ['127.0.0.1', '::1', '[::1]', 'localhost', '127.3.4.5']) {
      expect(() =>
        assertSecretDestination(
          { service: 'Redis', host, tls: false },
          { NODE_TLS_REJECT_UNAUTHORIZED: '0' },
        ),
      ).not.toThrow();
    }
  });

  it('refuses plaintext to another machine, naming how to turn TLS on', () => {
    const attempt = () =>
      assertSecretDestination(
        { service: 'Redis', host: 'cache.example', tls: false, tlsHint: 'leave `tls` unset' },
        {},
      );
    expect(attempt).toThrow(ConfigurationError);
    expect(attempt).toThrow(/without TLS.*leave `tls` unset/);
  });

  it('refuses any non-loopback host while NODE_TLS_REJECT_UNAUTHORIZED=0, naming the variable', () => {
    const attempt = () =>
      assertSecretDestination(
        { service: 'Key Vault', host: 'vault.example', tls: true },
        { NODE_TLS_REJECT_UNAUTHORIZED: '0' },
      );
    expect(attempt).toThrow(/NODE_TLS_REJECT_UNAUTHORIZED=0/);
    for (const value of [undefined, '1', 'false']) {
      expect(() =>
        assertSecretDestination(
          { service: 'Key Vault', host: 'vault.example', tls: true },
          { NODE_TLS_REJECT_UNAUTHORIZED: value },
        ),
      ).not.toThrow();
    }
  });
});

describe('untrusted certificates', () => {
  const tlsError = (code: string) =>
    Object.assign(new Error('self-signed certificate in certificate chain'), { code });

  it('finds the code in causes and AggregateErrors, and gives one typed error with the CA hint', () => {
    const nested = new Error('request failed', {
      cause: new AggregateError([tlsError('SELF_SIGNED_CERT_IN_CHAIN')]),
    });
    expect(certificateFailureCode(nested)).toBe('SELF_SIGNED_CERT_IN_CHAIN');
    const error = untrustedCertificateError(nested, {
      service: 'Redis',
      target: 'cache.example:6380',
      caOption: 'tls.ca',
    });
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error?.code).toBe('configuration');
    expect(error?.retryable).toBe(false);
    expect(error?.hint).toMatch(/NODE_EXTRA_CA_CERTS/);
    expect(error?.hint).toMatch(/`tls\.ca`/);
    expect(isUntrustedCertificateError(error)).toBe(true);
  });

  it('says a name mismatch is about the name', () => {
    const error = untrustedCertificateError(tlsError('ERR_TLS_CERT_ALTNAME_INVALID'), {
      service: 'PostgreSQL',
      target: 'db.example:5432',
      caOption: 'ssl.ca',
    });
    expect(error?.hint).toMatch(/not issued for this host name/);
  });

  it('leaves other errors alone', () => {
    expect(
      untrustedCertificateError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), {
        service: 'Redis',
        target: 'x',
        caOption: 'ca',
      }),
    ).toBeUndefined();
  });
});

describe('debug switches that print credentials', () => {
  it('names DEBUG for ioredis and NODE_DEBUG for Node networking', () => {
    expect(credentialPrintingDebugSwitches({ DEBUG: '*' })).toEqual(['DEBUG=*']);
    expect(credentialPrintingDebugSwitches({ DEBUG: 'express:*,ioredis:*' })).toEqual([
      'DEBUG=express:*,ioredis:*',
    ]);
    expect(credentialPrintingDebugSwitches({ NODE_DEBUG: 'https,net' })).toEqual(['NODE_DEBUG=https,net']);
    expect(credentialPrintingDebugSwitches({ DEBUG: 'express:*', NODE_DEBUG: 'module' })).toEqual([]);
  });
});
