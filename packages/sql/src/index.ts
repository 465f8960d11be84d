export type { SqlPoolState } from './connection-pool.js';
export type {
  SqlDataType,
  SqlParameter,
  SqlTypeName,
  SqlValue,
  TypedSqlParameter,
} from './parameter-typing.js';
export { createSqlConnector, type SqlConnector, type SqlConnectorInternals } from './sql-connector.js';
export type { SqlConnectorOptions, SqlPoolOptions } from './sql-options.js';
export type { SqlTransaction } from './transaction.js';
