/**
 * Splits a raw HTTP request target into path and query by hand: `new URL('//x', base)` would read
 * `x` as a host (clients do send doubled slashes), and a malformed escape must become a 400 for
 * that request, not an exception. Absolute-form targets lose their scheme and host.
 */
export function splitRequestTarget(rawTarget: string | undefined): { rawPath: string; rawQuery: string } {
  let target = rawTarget ?? '/';
  const absoluteForm = /^https?:\/\/[^/?#]*/i.exec(target);
  if (absoluteForm) target = target.slice(absoluteForm[0].length);
  const fragmentStart = target.indexOf('#');
  if (fragmentStart >= 0) target = target.slice(0, fragmentStart);
  const queryStart = target.indexOf('?');
  return {
    rawPath: queryStart >= 0 ? target.slice(0, queryStart) : target,
    rawQuery: queryStart >= 0 ? target.slice(queryStart + 1) : '',
  };
}
