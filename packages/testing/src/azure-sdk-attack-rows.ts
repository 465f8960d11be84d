import https from 'node:https';
import type { InterceptorCertificate } from './tls-interceptor.js';

/**
 * The paths by which an Azure SDK client (BlobServiceClient, SecretClient) could hand its bearer
 * token to a server it should not trust, as rows for a connector's attacker suite: the same for
 * every connector that wraps an SDK client, so they are written once. A connector's suite adds its
 * own rows (Key Vault: `disableChallengeResourceVerification`).
 */

/** Where the typed error must come from: the factory, or the first operation. */
export type AttackWhere = 'construction' | 'first use';

/** One path, and what keyless must do about it. */
export interface SdkAttackRow {
  name: string;
  /** The interceptor the client is pointed at. */
  certificate: InterceptorCertificate;
  /** Options besides the URL and the provider; `localCa` is the stack's CA (PEM). */
  options?: (localCa: string) => Record<string, unknown>;
  /** NODE_TLS_REJECT_UNAUTHORIZED=0 from before the connector is created, or only before its first use. */
  tlsVerificationOff?: AttackWhere;
  /** `http` instead of `https` in the URL. */
  plainHttp?: boolean;
  where: AttackWhere;
  /** What the message must contain: the option's path, the variable, the certificate failure. */
  names: string | RegExp;
  /** Whether the client may open a TCP connection before refusing (only a refused certificate needs one). */
  mayConnect: boolean;
}

/** The part of the SDKs' request objects a transport needs (Storage's WebResource, Core v2's PipelineRequest). */
interface SdkRequest {
  url: string;
  method: string;
  headers: { rawHeaders?(): Record<string, string>; toJSON?(): Record<string, string> };
  body?: unknown;
}

/** A custom transport that skips the name check: keyless cannot see what a custom httpClient verifies. */
export const nameBlindHttpClient = {
  sendRequest: (request: SdkRequest) =>
    new Promise((resolve, reject) => {
      const headers = request.headers.rawHeaders?.() ?? request.headers.toJSON?.() ?? {};
      const outgoing = https.request(
        request.url,
        { method: request.method, headers, checkServerIdentity: () => undefined },
        (response) => {
          response.resume();
          response.on('end', () =>
            resolve({ request, status: response.statusCode ?? 0, headers: request.headers }),
          );
        },
      );
      outgoing.on('error', reject);
      outgoing.end(typeof request.body === 'string' ? request.body : undefined);
    }),
};

/** Every path common to the SDK-based connectors; `urlOption` is the connector's URL option. */
export function sdkClientAttackRows(urlOption: string): SdkAttackRow[] {
  return [
    {
      name: 'default options, a certificate from a CA nobody trusts',
      certificate: 'untrusted-ca',
      where: 'first use',
      names: /TLS certificate is not trusted \((SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)\)/,
      mayConnect: true,
    },
    {
      name: 'default options, a trusted certificate for another name',
      certificate: 'wrong-name',
      where: 'first use',
      names: 'TLS certificate is not trusted (ERR_TLS_CERT_ALTNAME_INVALID)',
      mayConnect: true,
    },
    {
      name: 'top-level rejectUnauthorized: false',
      certificate: 'untrusted-ca',
      options: () => ({ rejectUnauthorized: false }),
      where: 'construction',
      names: '`rejectUnauthorized`',
      mayConnect: false,
    },
    {
      name: 'top-level checkServerIdentity',
      certificate: 'wrong-name',
      options: () => ({ checkServerIdentity: () => undefined }),
      where: 'construction',
      names: '`checkServerIdentity`',
      mayConnect: false,
    },
    {
      name: 'clientOptions.tlsOptions.rejectUnauthorized: false',
      certificate: 'untrusted-ca',
      options: () => ({ clientOptions: { tlsOptions: { rejectUnauthorized: false } } }),
      where: 'construction',
      names: '`clientOptions.tlsOptions.rejectUnauthorized`',
      mayConnect: false,
    },
    {
      name: 'clientOptions.tlsOptions: ca plus a checkServerIdentity that accepts any name',
      certificate: 'wrong-name',
      options: (localCa) => ({
        clientOptions: { tlsOptions: { ca: localCa, checkServerIdentity: () => undefined } },
      }),
      where: 'construction',
      names: '`clientOptions.tlsOptions.checkServerIdentity`',
      mayConnect: false,
    },
    {
      name: 'clientOptions.tlsOptions.servername (verify against another name)',
      certificate: 'wrong-name',
      options: () => ({ clientOptions: { tlsOptions: { servername: 'not-the-target.test' } } }),
      where: 'construction',
      names: '`clientOptions.tlsOptions.servername`',
      mayConnect: false,
    },
    {
      name: 'a custom httpClient that does not check the name',
      certificate: 'wrong-name',
      options: () => ({ clientOptions: { httpClient: nameBlindHttpClient } }),
      where: 'construction',
      names: '`clientOptions.httpClient`',
      mayConnect: false,
    },
    {
      name: 'a custom agent',
      certificate: 'wrong-name',
      options: () => ({
        clientOptions: { agent: new https.Agent({ checkServerIdentity: () => undefined }) },
      }),
      where: 'construction',
      names: '`clientOptions.agent`',
      mayConnect: false,
    },
    {
      name: 'NODE_TLS_REJECT_UNAUTHORIZED=0 when the connector is created',
      certificate: 'untrusted-ca',
      tlsVerificationOff: 'construction',
      where: 'construction',
      names: 'NODE_TLS_REJECT_UNAUTHORIZED=0',
      mayConnect: false,
    },
    {
      name: 'NODE_TLS_REJECT_UNAUTHORIZED=0 set after it was created (Node reads it at every connection)',
      certificate: 'untrusted-ca',
      tlsVerificationOff: 'first use',
      where: 'first use',
      names: 'NODE_TLS_REJECT_UNAUTHORIZED=0',
      mayConnect: false,
    },
    {
      name: 'plain http:// to the non-loopback name',
      certificate: 'untrusted-ca',
      plainHttp: true,
      where: 'construction',
      names: `\`${urlOption}\``,
      mayConnect: false,
    },
  ];
}
