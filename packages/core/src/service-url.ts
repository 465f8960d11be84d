import type { BlockList } from 'node:net';
import { invalid, settingSchema } from './setting-schema.js';
import { type Environment, requireSetting } from './settings.js';

/**
 * node:net, taken when first needed rather than imported: loading it costs a cold process about a
 * millisecond, and most processes that import keyless never ask whether a host is loopback before
 * their first connection (issue 11).
 */
const net = () => process.getBuiltinModule('node:net');

let loopbackAddresses: BlockList | undefined;

/**
 * 127.0.0.0/8, ::1, and 127.0.0.0/8 written as IPv4-mapped IPv6 (the URL parser turns
 * `[::ffff:127.0.0.1]` into `[::ffff:7f00:1]`).
 */
function loopbackBlockList(): BlockList {
  if (loopbackAddresses === undefined) {
    loopbackAddresses = new (net().BlockList)();
    loopbackAddresses.addSubnet('127.0.0.0', 8, 'ipv4');
    loopbackAddresses.addAddress('::1', 'ipv6');
    loopbackAddresses.addSubnet('::ffff:7f00:0', 104, 'ipv6');
  }
  return loopbackAddresses;
}

/** True when the host is this machine: only such a URL can be a local emulator. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost') return true;
  const family = net().isIP(host);
  if (family === 0) return false;
  return loopbackBlockList().check(host, family === 4 ? 'ipv4' : 'ipv6');
}

/** A service URL setting for `resolveServiceUrl`: the option, the variable, and how to explain them. */
export interface ServiceUrlSetting {
  /** e.g. `Key Vault`, `Azure Storage`: used in messages. */
  service: string;
  /** e.g. `https://<vault-name>.vault.azure.net`. */
  example: string;
  option: string;
  variable: string;
  value: unknown;
  environment?: Environment | undefined;
  /** Plain http for a loopback emulator (Azurite speaks it); https is required everywhere else. */
  allowLoopbackHttp?: boolean;
  /** Keep the path (a Blob endpoint can be `…/devstoreaccount1`); otherwise the URL is its origin. */
  keepPath?: boolean;
  /** Said when neither the option nor the variable is set, e.g. how keyless-local prints it. */
  whereToFind?: string;
}

/**
 * A service endpoint from the option, else the environment: an https URL without query string
 * or credentials (a SAS token or key is exactly what keyless replaces with the managed identity).
 * The value itself never appears in a message, as a pasted URL may carry such a credential.
 */
export function resolveServiceUrl(setting: ServiceUrlSetting): string {
  const { service, example } = setting;
  const schema = settingSchema((value) => {
    const fail = invalid;
    if (typeof value !== 'string') return fail(`expected a URL such as ${example}`);
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return fail(`not a URL; expected one such as ${example}`);
    }
    if (url.search !== '' || url.username !== '' || url.password !== '') {
      return fail(
        'the URL must not carry a query string or credentials (a SAS token or key is exactly what keyless replaces with the managed identity)',
      );
    }
    if (url.protocol === 'http:' && setting.allowLoopbackHttp) {
      if (!isLoopbackHost(url.hostname)) {
        return fail(
          `http is allowed only for a loopback emulator (127.0.0.1, ::1, localhost); ${service} needs https, e.g. ${example}`,
        );
      }
    } else if (url.protocol !== 'https:') {
      return fail(`${service} is reached over https only; expected a URL such as ${example}`);
    }
    return setting.keepPath ? `${url.origin}${url.pathname.replace(/\/+$/, '')}` : url.origin;
  });
  return requireSetting(
    schema,
    {
      option: setting.option,
      value: setting.value,
      variables: [setting.variable],
      environment: setting.environment,
    },
    {
      what: `${service} URL`,
      detail: `, e.g. ${example}${setting.whereToFind ? ` (${setting.whereToFind})` : ''}`,
    },
  );
}
