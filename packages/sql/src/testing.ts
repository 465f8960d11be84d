/**
 * `@keyless/sql/testing`: seams for tests and simulations (a hook on each tedious Connection, a
 * clock for connection ages). Not for applications, and not covered by semver.
 */
export { createSqlConnectorWithInternals, type SqlConnectorInternals } from './sql-connector.js';
