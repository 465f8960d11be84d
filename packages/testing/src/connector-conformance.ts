import {
  type AgainstTheStackOptions,
  type ConnectorUnderTest,
  describeAgainstTheStackConformance,
} from './conformance/against-the-stack.js';

export type { ConnectorUnderTest };

/** The options of `describeConnectorConformance`: those of the against-the-stack group. */
export type ConnectorConformanceOptions = AgainstTheStackOptions;

/**
 * The suite as it was before it was split into groups: the against-the-stack group alone, with the
 * same test names. Kept so that connectors pass while they move to
 * `describeConnectorConformanceSuite` (or to the groups one by one).
 */
export function describeConnectorConformance(options: ConnectorConformanceOptions): void {
  describeAgainstTheStackConformance(options);
}
