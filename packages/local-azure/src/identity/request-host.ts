/**
 * Which names a request may use for the endpoint. The endpoint listens on loopback only, but a web
 * page can still reach it from the developer's browser by DNS rebinding: `evil.example` first
 * resolves to the attacker's server, then to 127.0.0.1, and the page's requests — with
 * `Host: evil.example` — arrive here as same-origin requests that may set `Metadata: true`. The
 * real endpoints are only reached by IP on their own host (169.254.169.254, or the App Service
 * sandbox's loopback URL), so nothing legitimate ever names another host: a request must name
 * 127.0.0.1, [::1], localhost or the address the endpoint is bound to, with or without a port.
 */
export function namesThisEndpoint(
  hostHeader: string | undefined,
  requestTarget: string | undefined,
  boundAddress: string,
): boolean {
  if (!isAllowedAuthority(hostHeader, boundAddress)) return false;
  // An absolute-form target (`GET http://name/… HTTP/1.1`) names the host too, and wins over Host.
  const absoluteForm = /^https?:\/\/([^/?#]*)/i.exec(requestTarget ?? '');
  return absoluteForm === null || isAllowedAuthority(absoluteForm[1], boundAddress);
}

function isAllowedAuthority(authority: string | undefined, boundAddress: string): boolean {
  if (authority === undefined || authority.length > 300) return false;
  const hostname = hostnameOf(authority);
  if (hostname === undefined) return false;
  const name = hostname.toLowerCase();
  return name === 'localhost' || name === '127.0.0.1' || name === '::1' || name === boundAddress;
}

/** `name`, `name:port`, `[v6]` or `[v6]:port` → the name; anything else → undefined. */
function hostnameOf(authority: string): string | undefined {
  let hostname: string;
  let rest: string;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close < 0) return undefined;
    hostname = authority.slice(1, close);
    rest = authority.slice(close + 1);
  } else {
    const colon = authority.indexOf(':');
    hostname = colon < 0 ? authority : authority.slice(0, colon);
    rest = colon < 0 ? '' : authority.slice(colon);
  }
  if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return undefined;
  return hostname;
}

/** What the refusal says (never the name that was sent, which a page chose). */
export const foreignHostMessage =
  'The Host header must name 127.0.0.1, [::1] or localhost (with or without the port): the local identity endpoint refuses other names, so a web page cannot reach it through DNS rebinding.';
