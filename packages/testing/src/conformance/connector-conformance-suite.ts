import { type AgainstTheStackOptions, describeAgainstTheStackConformance } from './against-the-stack.js';
import { type ConfigurationConformanceOptions, describeConfigurationConformance } from './configuration.js';
import { describeErrorMappingConformance, type ErrorMappingConformanceOptions } from './error-mapping.js';
import {
  describeLifecycleConformance,
  type LifecycleConformanceOptions,
  type LifecycleConnector,
} from './lifecycle.js';

/** The groups a connector switches on, each with its own factory and tables; `name` is shared. */
export interface ConnectorConformanceSuiteOptions<
  Options extends object,
  Connector extends LifecycleConnector,
> {
  /** e.g. `@keyless/postgres`. */
  name: string;
  /** No server. */
  configuration?: Omit<ConfigurationConformanceOptions<Options, unknown>, 'name'>;
  /** No server (a closed port, a fake identity backend). */
  lifecycle?: Omit<LifecycleConformanceOptions<Connector>, 'name'>;
  /** No server. */
  errorMapping?: Omit<ErrorMappingConformanceOptions, 'name'>;
  /** Starts the local stack: at most one file per package should switch it on (MSAL pins its protocol per process). */
  againstTheStack?: Omit<AgainstTheStackOptions, 'name'>;
}

/** Runs every group for which options are given, in the order above (cheapest first). */
export function describeConnectorConformanceSuite<
  Options extends object,
  Connector extends LifecycleConnector,
>(options: ConnectorConformanceSuiteOptions<Options, Connector>): void {
  const { name } = options;
  if (options.configuration) describeConfigurationConformance({ name, ...options.configuration });
  if (options.lifecycle) describeLifecycleConformance({ name, ...options.lifecycle });
  if (options.errorMapping) describeErrorMappingConformance({ name, ...options.errorMapping });
  if (options.againstTheStack) describeAgainstTheStackConformance({ name, ...options.againstTheStack });
}
