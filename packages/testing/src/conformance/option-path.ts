/**
 * `options` with `value` at the dotted `path` (`undefined` removes the key, as when the user never
 * wrote it). Every object on the way is copied with its prototype, so the caller's options stay as
 * they were and a password source or a class instance keeps what makes it one; missing objects on
 * the way are created as plain objects.
 */
export function withOptionAt<Options>(options: Options, path: string, value: unknown): Options {
  const [key, ...rest] = path.split('.');
  if (key === undefined || key === '') throw new Error(`empty option path "${path}"`);
  const copy = copyOf(options);
  if (rest.length === 0) {
    if (value === undefined) delete copy[key];
    else copy[key] = value;
  } else {
    copy[key] = withOptionAt(copy[key] ?? {}, rest.join('.'), value);
  }
  return copy as Options;
}

/** The value at the dotted `path`, or undefined. */
export function optionAt(options: unknown, path: string): unknown {
  let current: unknown = options;
  for (const key of path.split('.')) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function copyOf(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return {};
  return Object.assign(Object.create(Object.getPrototypeOf(value)), value);
}
