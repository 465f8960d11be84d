/**
 * The validation keyless's settings need, without a schema library: zod's import alone took longer
 * than the rest of @keyless/core, and every process paid it before its first token (issue 11). The
 * shape is zod's `safeParse`, so a connector may still hand a zod schema to `resolveSetting`.
 */
export interface SettingSchema<T> {
  safeParse(raw: unknown): SettingCheck<T>;
}

/** What a SettingSchema answers: the value, or the problems, each a sentence for the user. */
export type SettingCheck<T> =
  | { success: true; data: T }
  | { success: false; error: { readonly issues: readonly { readonly message: string }[] } };

const invalidBrand = Symbol('keyless invalid setting');

/** Returned by a parse function for a value it refuses; `message` says what was expected. */
export interface InvalidSetting {
  readonly [invalidBrand]: true;
  readonly message: string;
}

export function invalid(message: string): InvalidSetting {
  return { [invalidBrand]: true, message };
}

/** A SettingSchema from a function that returns the value or `invalid(message)`. */
export function settingSchema<T>(parse: (raw: unknown) => T | InvalidSetting): SettingSchema<T> {
  return {
    safeParse(raw) {
      const result = parse(raw);
      if (typeof result === 'object' && result !== null && invalidBrand in result) {
        return { success: false, error: new SettingProblem(result.message) };
      }
      return { success: true, data: result as T };
    },
  };
}

/** The `cause` of a ConfigurationError about a setting: an Error with zod's `issues` shape. */
export class SettingProblem extends Error {
  readonly issues: readonly { readonly message: string }[];

  constructor(message: string) {
    super(message);
    this.name = 'SettingProblem';
    this.issues = [{ message }];
  }
}

/** A string matching `pattern`, else `message`. */
export function matchingText(pattern: RegExp, message: string): SettingSchema<string> {
  return settingSchema((raw) => (typeof raw === 'string' && pattern.test(raw) ? raw : invalid(message)));
}

/** One of `values`, else "expected one of …". */
export function oneOf<const Value extends string>(values: readonly Value[]): SettingSchema<Value> {
  const message = `expected one of ${values.join(', ')}`;
  return settingSchema((raw) =>
    typeof raw === 'string' && (values as readonly string[]).includes(raw)
      ? (raw as Value)
      : invalid(message),
  );
}

/** A boolean, or its text form from an environment variable: true / false / 1 / 0. */
export const booleanSetting: SettingSchema<boolean> = settingSchema((raw) => {
  if (typeof raw === 'boolean') return raw;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  return invalid('expected true or false');
});

/** A whole number of at least `minimum`, given as a number (options, not variables). */
export function wholeNumber(minimum: number, expected: string): SettingSchema<number> {
  return settingSchema((raw) => {
    if (typeof raw !== 'number' || Number.isNaN(raw)) return invalid(expected);
    if (!Number.isInteger(raw)) return invalid(`${expected}; got ${raw}, which is not whole`);
    if (raw < minimum) return invalid(`${expected} of at least ${minimum}; got ${raw}`);
    return raw;
  });
}

/** A TCP port, from a number option or a text variable. */
export const portSchema: SettingSchema<number> = settingSchema((raw) => {
  const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof value !== 'number' || Number.isNaN(value)) return invalid('expected a port number');
  if (!Number.isInteger(value)) return invalid('expected a whole port number');
  if (value < 1 || value > 65_535) return invalid('expected a port between 1 and 65535');
  return value;
});
