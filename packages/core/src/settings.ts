import { ConfigurationError } from './errors.js';
import type { SettingSchema } from './setting-schema.js';

/** Environment variables, as `process.env` holds them. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** Where one setting may come from: an option's value, else environment variables. */
export interface SettingSource {
  /** The option's name as the user writes it, e.g. `backend` or `identity.clientId`. */
  option: string;
  /** The value given in code, if any. It wins over the environment. */
  value: unknown;
  /** Environment variables consulted in order when no option is given. */
  variables?: readonly string[];
  environment?: Environment;
}

/** What `resolveSetting` found: the validated value (undefined when neither option nor variable is set) and where it came from. */
export interface ResolvedSetting<T> {
  value: T | undefined;
  /** Where the value came from, for messages: `option backend` or `environment variable X`. */
  origin: string | undefined;
}

/**
 * Options first, environment second — the one place that rule lives, so that every error about a
 * setting names both the option and the variables a user could have set.
 */
export function resolveSetting<T>(schema: SettingSchema<T>, source: SettingSource): ResolvedSetting<T> {
  const environment = source.environment ?? process.env;
  const variables = source.variables ?? [];
  let raw: unknown;
  let origin: string | undefined;
  if (source.value !== undefined) {
    raw = source.value;
    origin = `option \`${source.option}\``;
  } else {
    for (const variable of variables) {
      const fromEnvironment = environment[variable];
      if (fromEnvironment !== undefined && fromEnvironment.trim() !== '') {
        raw = fromEnvironment.trim();
        origin = `environment variable ${variable}`;
        break;
      }
    }
  }
  if (raw === undefined) return { value: undefined, origin: undefined };
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problem = parsed.error.issues.map((issue) => issue.message).join('; ');
    throw new ConfigurationError(`Invalid ${origin}: ${problem}`, {
      hint: describeWhereToSet(source.option, variables),
      cause: parsed.error,
    });
  }
  return { value: parsed.data, origin };
}

export function describeWhereToSet(option: string, variables: readonly string[]): string {
  const environmentPart = variables.length > 0 ? ` or the environment variable ${variables.join(' / ')}` : '';
  return `set the option \`${option}\`${environmentPart}`;
}

/** How `requireSetting` describes a missing setting in its error. */
export interface MissingSettingDescription {
  /** What is missing, for the message: `No ${what} is configured`. */
  what: string;
  /** Appended to "set the option … or the environment variable …", with its own leading punctuation. */
  detail: string;
}

/**
 * resolveSetting for a value the connector cannot work without: missing from both the option and
 * the environment fails at construction with a message that names both.
 */
export function requireSetting<T>(
  schema: SettingSchema<T>,
  source: SettingSource,
  missing: MissingSettingDescription,
): T {
  const resolved = resolveSetting(schema, source);
  if (resolved.value === undefined) {
    throw new ConfigurationError(`No ${missing.what} is configured`, {
      hint: `${describeWhereToSet(source.option, source.variables ?? [])}${missing.detail}`,
    });
  }
  return resolved.value;
}
