import { ConfigurationError } from '@keyless/core';
import {
  type ConformanceCheck,
  closeQuietly,
  describeChecks,
  isThenable,
  type Outcome,
  outcomeOf,
} from './conformance-check.js';
import { withEnvironment } from './environment.js';
import { optionAt, withOptionAt } from './option-path.js';
import { describeThrown, messageWithoutHint } from './problem-text.js';

/** One setting a connector reads from an option, else an environment variable. */
export interface ConfigurationSetting {
  /** The option as the user writes it and messages spell it (in backticks): `host`, `secretName`. */
  option: string;
  /** Where it sits in the options, dotted (`password.secretName`); default `option`. */
  path?: string;
  /** The variable read when the option is absent. A setting read from two variables is two rows. */
  variable: string;
  /** Construction fails without it. */
  required?: boolean;
  /** A value the connector accepts, as the variable holds it (text). */
  variableValue: string;
  /** Values the connector refuses, one as the option and one as the variable holds it. */
  malformed?: { option: unknown; variable: string };
}

/**
 * A path by which the connector's TLS verification could be weakened. Either an option (its
 * dotted path, named in the error, and the value set there — or whole `options` when the path is
 * not a plain dotted one) or an environment variable (named in the error); `options` replaces the
 * valid options for this row, e.g. to point at a host that is not loopback.
 */
export type TlsWeakeningRow<Options> =
  | { option: string; value?: unknown; options?: Options }
  | { variable: string; value: string; options?: Options };

export interface ConfigurationConformanceOptions<Options extends object, Connector> {
  /** e.g. `@keyless/postgres`. */
  name: string;
  /** The connector's factory, as an application calls it; it reads `process.env` for what is not given. */
  create(options: Options): Connector;
  /**
   * Options that construct a connector, giving every setting of the table a value and contacting
   * nothing at construction. The group never changes this object.
   */
  validOptions: Options;
  settings: readonly ConfigurationSetting[];
  tlsWeakening: readonly TlsWeakeningRow<Options>[];
}

/**
 * The configuration rules, without a server: a missing required setting fails at construction with
 * a ConfigurationError naming the option and the variable; an option wins over the variable; a
 * malformed value is reported with where it came from; every TLS-weakening path the connector lists
 * is refused at construction, naming the path.
 */
export function configurationChecks<Options extends object, Connector>(
  options: ConfigurationConformanceOptions<Options, Connector>,
): ConformanceCheck[] {
  // Every check starts from an environment without any variable of the tables, so a value the
  // test process happens to have cannot stand in for the option under test.
  const cleared: Record<string, undefined> = {};
  for (const setting of options.settings) cleared[setting.variable] = undefined;
  for (const row of options.tlsWeakening) if ('variable' in row) cleared[row.variable] = undefined;

  /** Constructs with `changes` applied to the cleared environment; closes whatever was made. */
  const construct = async (
    connectorOptions: Options,
    changes: Record<string, string | undefined> = {},
  ): Promise<{ outcome: Outcome<Connector>; problems: string[] }> => {
    const outcome = withEnvironment({ ...cleared, ...changes }, () =>
      outcomeOf(() => options.create(connectorOptions)),
    );
    const problems: string[] = [];
    if (!outcome.threw) {
      if (isThenable(outcome.value)) {
        problems.push('create() returned a promise: construction must be synchronous');
      }
      await closeQuietly(outcome.value);
    }
    return { outcome, problems };
  };

  const checks: ConformanceCheck[] = [
    {
      name: 'the tables cover every rule (a required setting, a malformed value, a TLS-weakening path)',
      run: async () => tableProblems(options),
    },
    {
      name: 'constructs from the valid options with none of the variables set (the control for every check below)',
      run: async () => {
        const { outcome, problems } = await construct(options.validOptions);
        if (outcome.threw) problems.push(`the valid options were refused: ${describeThrown(outcome.error)}`);
        return problems;
      },
    },
  ];

  for (const setting of options.settings) {
    const path = setting.path ?? setting.option;
    const option = `\`${setting.option}\``;
    const withoutOption = withOptionAt(options.validOptions, path, undefined);

    checks.push({
      name: `reads ${option} from ${setting.variable} when the option is absent`,
      run: async () => {
        const { outcome, problems } = await construct(withoutOption, {
          [setting.variable]: setting.variableValue,
        });
        if (outcome.threw) {
          problems.push(
            `with ${option} absent and ${setting.variable} set to a valid value, construction failed: ${describeThrown(outcome.error)}`,
          );
        }
        return problems;
      },
    });

    if (setting.required) {
      checks.push({
        name: `a missing ${option} fails at construction with ConfigurationError naming ${option} and ${setting.variable}`,
        run: async () => {
          const { outcome, problems } = await construct(withoutOption);
          if (!outcome.threw) {
            problems.push(`with neither ${option} nor ${setting.variable} set, construction succeeded`);
            return problems;
          }
          problems.push(...configurationErrorProblems(outcome.error, [option, setting.variable], 'text'));
          return problems;
        },
      });
    }

    const malformed = setting.malformed;
    if (malformed === undefined) continue;

    checks.push({
      name: `a malformed ${setting.variable} is refused with ConfigurationError saying it came from ${setting.variable}`,
      run: async () => {
        const { outcome, problems } = await construct(withoutOption, {
          [setting.variable]: malformed.variable,
        });
        if (!outcome.threw) {
          problems.push(`a malformed ${setting.variable} (${option} absent) was accepted`);
          return problems;
        }
        problems.push(...configurationErrorProblems(outcome.error, [setting.variable], 'message'));
        return problems;
      },
    });

    checks.push({
      name: `a malformed ${option} is refused with ConfigurationError saying it came from the option, even with a valid ${setting.variable}`,
      run: async () => {
        const { outcome, problems } = await construct(
          withOptionAt(options.validOptions, path, malformed.option),
          {
            [setting.variable]: setting.variableValue,
          },
        );
        if (!outcome.threw) {
          problems.push(
            `a malformed ${option} was accepted while ${setting.variable} held a valid value: the variable was read instead of the option`,
          );
          return problems;
        }
        problems.push(...configurationErrorProblems(outcome.error, [option], 'message'));
        if (outcome.error instanceof Error && messageWithoutHint(outcome.error).includes(setting.variable)) {
          problems.push(`the error for a malformed ${option} says the value came from ${setting.variable}`);
        }
        return problems;
      },
    });

    checks.push({
      name: `the option ${option} wins over ${setting.variable} (a malformed variable is not even read)`,
      run: async () => {
        if (optionAt(options.validOptions, path) === undefined) {
          return [`validOptions gives ${option} no value, so precedence cannot be checked`];
        }
        const { outcome, problems } = await construct(options.validOptions, {
          [setting.variable]: malformed.variable,
        });
        if (outcome.threw) {
          problems.push(
            `with ${option} given and ${setting.variable} malformed, construction failed (the variable was read): ${describeThrown(outcome.error)}`,
          );
        }
        return problems;
      },
    });
  }

  for (const row of options.tlsWeakening) {
    const named = 'variable' in row ? row.variable : `\`${row.option}\``;
    const setting = 'variable' in row ? `${row.variable}=${row.value}` : named;
    checks.push({
      name: `refuses ${setting} at construction with ConfigurationError naming ${named}`,
      run: async () => {
        const { outcome, problems } =
          'variable' in row
            ? await construct(row.options ?? options.validOptions, { [row.variable]: row.value })
            : await construct(row.options ?? withOptionAt(options.validOptions, row.option, row.value));
        if (!outcome.threw) {
          problems.push(`${setting} was accepted at construction`);
          return problems;
        }
        problems.push(...configurationErrorProblems(outcome.error, [named], 'text'));
        return problems;
      },
    });
  }

  return checks;
}

/** Registers the configuration checks as vitest tests: `describe('configuration: <name>')`. */
export function describeConfigurationConformance<Options extends object, Connector>(
  options: ConfigurationConformanceOptions<Options, Connector>,
): void {
  describeChecks(`configuration: ${options.name}`, configurationChecks(options));
}

/**
 * Whether `error` is a ConfigurationError whose text names every one of `names`: `text` is the
 * message and the hint (where to set it), `message` the message alone (where the value came from).
 */
function configurationErrorProblems(error: unknown, names: readonly string[], where: 'text' | 'message') {
  if (!(error instanceof ConfigurationError)) {
    return [`expected a ConfigurationError, got ${describeThrown(error)}`];
  }
  const text = where === 'message' ? messageWithoutHint(error) : `${error.message} ${error.hint ?? ''}`;
  return names
    .filter((name) => !text.includes(name))
    .map(
      (name) =>
        `the ConfigurationError's ${where === 'message' ? 'message does' : 'message and hint do'} not name ${name}: ${describeThrown(error)}`,
    );
}

function tableProblems<Options extends object, Connector>(
  options: ConfigurationConformanceOptions<Options, Connector>,
): string[] {
  const problems: string[] = [];
  if (!options.settings.some((setting) => setting.required)) {
    problems.push('no setting is marked required: the missing-setting rule is not checked');
  }
  if (!options.settings.some((setting) => setting.malformed !== undefined)) {
    problems.push('no setting has malformed values: precedence and "where it came from" are not checked');
  }
  if (options.tlsWeakening.length === 0) {
    problems.push('the TLS-weakening table is empty: list every path the connector refuses');
  }
  return problems;
}
