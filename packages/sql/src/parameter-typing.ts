import { ConfigurationError } from '@keyless/core';
import { type Request, TYPES } from 'tedious';

/** One of tedious's `TYPES` (e.g. `TYPES.NVarChar`), or its name. */
export type SqlTypeName = keyof typeof TYPES;
/** One of tedious's `TYPES` values. */
export type SqlDataType = (typeof TYPES)[SqlTypeName];

/** A value whose SQL type keyless infers. */
export type SqlValue = number | bigint | string | boolean | Date | Buffer | Uint8Array | null | undefined;

/** A value with its SQL type given explicitly, e.g. `{ type: 'Decimal', value: 1.5, options: { precision: 9, scale: 2 } }`. */
export interface TypedSqlParameter {
  type: SqlDataType | SqlTypeName;
  value: unknown;
  /** tedious's parameter options: `length`, `precision`, `scale`. */
  options?: { length?: number; precision?: number; scale?: number };
}

/** A query parameter: a plain value whose type keyless infers, or a value with its type. */
export type SqlParameter = SqlValue | TypedSqlParameter;

const int32 = { min: -2_147_483_648, max: 2_147_483_647 };

/**
 * The SQL type for a JavaScript value, as a developer would pick it: whole numbers are INT (BIGINT
 * beyond 32 bits), other numbers FLOAT, strings NVARCHAR (Unicode, as the server's collation may
 * not hold the text otherwise), booleans BIT, dates DATETIME2 (no rounding to 1/300 s), bytes
 * VARBINARY, and null an untyped NVARCHAR NULL.
 */
export function inferSqlType(value: SqlValue): SqlDataType {
  switch (typeof value) {
    case 'number':
      if (Number.isInteger(value)) return value >= int32.min && value <= int32.max ? TYPES.Int : TYPES.BigInt;
      return TYPES.Float;
    case 'bigint':
      return TYPES.BigInt;
    case 'string':
      return TYPES.NVarChar;
    case 'boolean':
      return TYPES.Bit;
    default:
      if (value instanceof Date) return TYPES.DateTime2;
      if (value instanceof Uint8Array) return TYPES.VarBinary;
      return TYPES.NVarChar;
  }
}

/** Adds `parameters` to a request; names may be written with or without the leading `@`. */
export function addParameters(request: Request, parameters: Record<string, SqlParameter>): void {
  for (const [rawName, parameter] of Object.entries(parameters)) {
    const name = rawName.startsWith('@') ? rawName.slice(1) : rawName;
    if (isTypedParameter(parameter)) {
      request.addParameter(
        name,
        resolveType(name, parameter.type),
        normalise(parameter.value),
        parameter.options,
      );
    } else {
      const value = normalise(parameter);
      request.addParameter(
        name,
        inferSqlType(parameter),
        typeof value === 'bigint' ? value.toString() : value,
      );
    }
  }
}

function isTypedParameter(parameter: SqlParameter): parameter is TypedSqlParameter {
  return (
    typeof parameter === 'object' &&
    parameter !== null &&
    !(parameter instanceof Date) &&
    !(parameter instanceof Uint8Array) &&
    'type' in parameter
  );
}

function resolveType(name: string, type: SqlDataType | SqlTypeName): SqlDataType {
  if (typeof type === 'string') {
    const found = TYPES[type];
    if (found === undefined) {
      throw new ConfigurationError(`Unknown SQL type '${type}' for parameter @${name}`, {
        hint: `use one of ${Object.keys(TYPES).join(', ')}`,
      });
    }
    return found;
  }
  return type;
}

function normalise(value: unknown): unknown {
  if (value === undefined) return null;
  // tedious writes VarBinary from Buffers only.
  if (value instanceof Uint8Array && !Buffer.isBuffer(value)) return Buffer.from(value);
  return value;
}
