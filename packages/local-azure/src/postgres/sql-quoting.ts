/** A double-quoted identifier: role and database names come from options, never trusted as SQL. */
export function quoteIdentifier(name: string): string {
  if (name === '' || name.includes('\0'))
    throw new Error('an SQL identifier must be non-empty and without NUL');
  return `"${name.replaceAll('"', '""')}"`;
}

/** A single-quoted literal, for the places (ALTER ROLE … PASSWORD) where parameters are not allowed. */
export function quoteLiteral(value: string): string {
  if (value.includes('\0')) throw new Error('an SQL literal must not contain NUL');
  return `'${value.replaceAll("'", "''")}'`;
}
