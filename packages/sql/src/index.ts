/**
 * `@keyless/sql`: what applications use. Test seams are in `@keyless/sql/testing`, which is not
 * covered by semver.
 */
export type { SqlPoolStatus } from './connection-pool.js';
export type {
  SqlDataType,
  SqlParameter,
  SqlTypeName,
  SqlValue,
  TypedSqlParameter,
} from './parameter-typing.js';
export { createSqlConnector, type SqlConnector } from './sql-connector.js';
export type { SqlConnectorOptions, SqlLoginRetryOptions, SqlPoolOptions } from './sql-options.js';
export type { SqlTransaction } from './transaction.js';
