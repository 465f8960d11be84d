import type { ParameterValue } from './client-requests.js';
import { type CellValue, type ColumnDefinition, CurrentCommand } from './token-stream-writer.js';

/**
 * The small, documented set of statements the endpoint answers. It is a protocol peer for the
 * authentication path, not a database: anything else gets a SQL error naming what is supported.
 */

export interface Note {
  id: number;
  body: string | null;
}

/** The demo table `dbo.notes (id INT IDENTITY, body NVARCHAR(4000))`, shared by every connection. */
export class NotesTable {
  private rows: Note[] = [];
  private nextId = 1;

  insert(body: string | null): Note {
    const note = { id: this.nextId, body };
    this.nextId += 1;
    this.rows.push(note);
    return note;
  }

  all(): readonly Note[] {
    return [...this.rows].sort((left, right) => left.id - right.id);
  }

  byId(id: number): Note | undefined {
    return this.rows.find((note) => note.id === id);
  }

  deleteAll(): number {
    const count = this.rows.length;
    this.rows = [];
    return count;
  }

  /** A transaction's starting point; rollback puts it back (no isolation between connections). */
  snapshot(): { rows: Note[]; nextId: number } {
    return { rows: this.rows.map((note) => ({ ...note })), nextId: this.nextId };
  }

  restore(snapshot: { rows: Note[]; nextId: number }): void {
    this.rows = snapshot.rows.map((note) => ({ ...note }));
    // IDENTITY values are not reused after a rollback, as in SQL Server.
    this.nextId = Math.max(this.nextId, snapshot.nextId);
  }
}

export interface QueryContext {
  principalName: string;
  database: string;
  spid: number;
  serverName: string;
  versionText: string;
  transactionCount: number;
  notes: NotesTable;
  /** Named parameters from sp_executesql, keyed by lower-case name with `@`. */
  parameters: ReadonlyMap<string, ParameterValue>;
}

export interface SqlErrorOutcome {
  kind: 'error';
  number: number;
  state: number;
  severity: number;
  message: string;
}

export type StatementOutcome =
  | { kind: 'rows'; columns: ColumnDefinition[]; rows: CellValue[][] }
  | { kind: 'count'; command: number; rowCount: number }
  | { kind: 'done'; command: number }
  | { kind: 'transaction'; action: 'begin' | 'commit' | 'rollback' }
  | { kind: 'wait'; milliseconds: number }
  | SqlErrorOutcome;

export const supportedStatements = [
  'SELECT 1',
  'SELECT SUSER_SNAME()',
  'SELECT DB_NAME()',
  'SELECT @@VERSION',
  'SELECT @@SPID',
  'INSERT INTO dbo.notes (body) VALUES (@body)',
  'SELECT id, body FROM dbo.notes ORDER BY id',
  'SELECT id, body FROM dbo.notes WHERE id = @id',
  'DELETE FROM dbo.notes',
] as const;

/** The longest WAITFOR DELAY accepted: enough to exercise cancellation, never a stuck connection. */
const maximumWaitMilliseconds = 60_000;

const noteColumns: ColumnDefinition[] = [
  { name: 'id', type: { kind: 'int', bytes: 4 } },
  { name: 'body', type: { kind: 'nvarchar', characters: 4000 } },
];

function notSupported(statement: string): SqlErrorOutcome {
  const shown = statement.length > 200 ? `${statement.slice(0, 200)}…` : statement;
  return {
    kind: 'error',
    // 40515 is Azure SQL's "not supported in this version" error.
    number: 40515,
    state: 1,
    severity: 16,
    message: `Statement not supported by the keyless local SQL endpoint: ${shown}. Supported: ${supportedStatements.join('; ')}; SET options; BEGIN/COMMIT/ROLLBACK TRANSACTION; WAITFOR DELAY 'hh:mm:ss'. It is a protocol peer for the authentication path, not a database.`,
  };
}

function undeclaredVariable(name: string): SqlErrorOutcome {
  return {
    kind: 'error',
    number: 137,
    state: 2,
    severity: 15,
    message: `Must declare the scalar variable "${name}".`,
  };
}

/** Lower case, single spaces, no spaces around punctuation, no brackets, no trailing semicolons. */
function normalize(statement: string): string {
  return statement
    .replace(/\[([^\]]*)\]/g, '$1')
    .replace(/\s+/g, ' ')
    .replace(/\s*([(),=;])\s*/g, '$1')
    .replace(/;+$/, '')
    .trim()
    .toLowerCase();
}

/** Splits on commas outside quotes and parentheses. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let index = 0; index < text.length; index += 1) {
    const character = text[index];
    if (character === "'") quoted = !quoted;
    else if (!quoted && character === '(') depth += 1;
    else if (!quoted && character === ')') depth -= 1;
    else if (!quoted && depth === 0 && character === ',') {
      parts.push(text.slice(start, index));
      start = index + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((part) => part.trim());
}

type SelectItem = { type: ColumnDefinition['type']; value: CellValue };

function evaluateExpression(
  expression: string,
  context: QueryContext,
): SelectItem | SqlErrorOutcome | undefined {
  const compact = expression.replace(/\s+/g, '').toLowerCase();
  if (/^-?\d{1,9}$/.test(compact)) return { type: { kind: 'int', bytes: 4 }, value: Number(compact) };
  const literal = /^N?'((?:[^']|'')*)'$/i.exec(expression.trim());
  if (literal) {
    const text = (literal[1] ?? '').replace(/''/g, "'");
    return { type: { kind: 'nvarchar', characters: Math.max(text.length, 1) }, value: text };
  }
  const name128 = (value: string): SelectItem => ({ type: { kind: 'nvarchar', characters: 128 }, value });
  switch (compact) {
    case 'suser_sname()':
    case 'suser_name()':
    case 'system_user':
    case 'original_login()':
    case 'user_name()':
    case 'current_user':
      return name128(context.principalName);
    case 'db_name()':
      return name128(context.database);
    case '@@servername':
    case "serverproperty('servername')":
      return name128(context.serverName);
    case '@@version':
      return { type: { kind: 'nvarchar', characters: 300 }, value: context.versionText };
    case '@@spid':
      return { type: { kind: 'int', bytes: 2 }, value: context.spid };
    case '@@trancount':
      return { type: { kind: 'int', bytes: 4 }, value: context.transactionCount };
  }
  if (/^@\w+$/.test(compact)) {
    if (!context.parameters.has(compact)) return undeclaredVariable(expression.trim());
    const value = context.parameters.get(compact) ?? null;
    if (typeof value === 'number' && Number.isInteger(value) && Math.abs(value) <= 2_147_483_647) {
      return { type: { kind: 'int', bytes: 4 }, value };
    }
    if (typeof value === 'bigint') return { type: { kind: 'int', bytes: 8 }, value: Number(value) };
    const text = value === null ? null : String(value);
    return { type: { kind: 'nvarchar', characters: 4000 }, value: text };
  }
  return undefined;
}

/** `SELECT <expression> [[AS] alias], …` without FROM: one row of server facts. */
function selectScalars(statement: string, context: QueryContext): StatementOutcome | undefined {
  const match = /^\s*select\s+([\s\S]+?)\s*;*\s*$/i.exec(statement);
  if (!match || /\bfrom\b/i.test(match[1] ?? '')) return undefined;
  const columns: ColumnDefinition[] = [];
  const row: CellValue[] = [];
  for (const item of splitTopLevel(match[1] ?? '')) {
    const aliased = /^([\s\S]+?)\s+(?:as\s+)?(\[[^\]]+\]|"[^"]+"|[A-Za-z_]\w*)$/i.exec(item);
    let expression = item;
    let alias = '';
    if (aliased && evaluateExpression(aliased[1] ?? '', context) !== undefined) {
      expression = aliased[1] ?? '';
      alias = (aliased[2] ?? '').replace(/^[["]|[\]"]$/g, '');
    }
    const evaluated = evaluateExpression(expression, context);
    if (evaluated === undefined) return undefined;
    if ('kind' in evaluated) return evaluated;
    columns.push({ name: alias, type: evaluated.type });
    row.push(evaluated.value);
  }
  return { kind: 'rows', columns, rows: [row] };
}

function parameterValue(name: string, context: QueryContext): ParameterValue | SqlErrorOutcome {
  if (!context.parameters.has(name)) return undeclaredVariable(name);
  return context.parameters.get(name) ?? null;
}

function isError(value: unknown): value is SqlErrorOutcome {
  return typeof value === 'object' && value !== null && 'kind' in value && value.kind === 'error';
}

function notesStatement(normalized: string, context: QueryContext): StatementOutcome | undefined {
  const table = '(?:dbo\\.)?notes';
  const insert = new RegExp(
    `^insert into ${table}\\(body\\)(output inserted\\.id )?values\\((@\\w+)\\)$`,
  ).exec(normalized);
  if (insert) {
    const value = parameterValue(insert[2] ?? '', context);
    if (isError(value)) return value;
    const note = context.notes.insert(value === null ? null : String(value));
    if (insert[1] !== undefined) {
      return { kind: 'rows', columns: [{ name: 'id', type: { kind: 'int', bytes: 4 } }], rows: [[note.id]] };
    }
    return { kind: 'count', command: CurrentCommand.insert, rowCount: 1 };
  }
  if (new RegExp(`^select id,body from ${table}( order by id( asc)?)?$`).test(normalized)) {
    return {
      kind: 'rows',
      columns: noteColumns,
      rows: context.notes.all().map((note) => [note.id, note.body]),
    };
  }
  const byId = new RegExp(`^select id,body from ${table} where id=(@\\w+|\\d+)$`).exec(normalized);
  if (byId) {
    const reference = byId[1] ?? '';
    const value = reference.startsWith('@') ? parameterValue(reference, context) : Number(reference);
    if (isError(value)) return value;
    const note = context.notes.byId(Number(value));
    return { kind: 'rows', columns: noteColumns, rows: note ? [[note.id, note.body]] : [] };
  }
  if (new RegExp(`^delete(?: from)? ${table}$`).test(normalized)) {
    return { kind: 'count', command: CurrentCommand.delete, rowCount: context.notes.deleteAll() };
  }
  return undefined;
}

function controlStatement(normalized: string): StatementOutcome | undefined {
  if (/^begin tran(saction)?( \w+)?$/.test(normalized)) return { kind: 'transaction', action: 'begin' };
  if (/^commit( tran(saction)?| work)?( \w+)?$/.test(normalized))
    return { kind: 'transaction', action: 'commit' };
  if (/^rollback( tran(saction)?| work)?( \w+)?$/.test(normalized)) {
    return { kind: 'transaction', action: 'rollback' };
  }
  const wait = /^waitfor delay '(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?'$/.exec(normalized);
  if (wait) {
    const [hours, minutes, seconds] = [wait[1], wait[2], wait[3]].map(Number) as [number, number, number];
    const milliseconds =
      ((hours * 60 + minutes) * 60 + seconds) * 1000 + Number((wait[4] ?? '0').padEnd(3, '0'));
    return { kind: 'wait', milliseconds: Math.min(milliseconds, maximumWaitMilliseconds) };
  }
  return undefined;
}

/** Runs a batch or an sp_executesql statement; a batch of SET options (tedious's initial SQL) is fine. */
export function runStatement(statement: string, context: QueryContext): StatementOutcome {
  const parts = statement
    .split(/[;\r\n]+/)
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
  if (parts.length > 0 && parts.every((part) => /^set\s+\w+/i.test(part))) {
    return { kind: 'done', command: CurrentCommand.set };
  }
  const normalized = normalize(statement);
  return (
    controlStatement(normalized) ??
    notesStatement(normalized, context) ??
    selectScalars(statement, context) ??
    notSupported(statement.trim())
  );
}
