import type { ParameterValue } from './client-requests.js';
import { missingObjectName } from './object-names.js';
import { type Token, tokenize } from './sql-tokens.js';
import { TokenCursor } from './token-cursor.js';
import { type CellValue, type ColumnDefinition, CurrentCommand } from './token-stream-writer.js';
import { WorkCounter } from './work-counter.js';

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
    message: `Statement not supported by the keyless local SQL endpoint: ${shown}. Supported: ${supportedStatements.join('; ')}; SET options; BEGIN/COMMIT/ROLLBACK TRANSACTION; WAITFOR DELAY 'hh:mm:ss'. The endpoint is an emulator of Azure SQL. It is a protocol peer for the authentication path, not a database.`,
  };
}

/**
 * Azure SQL's answer to a statement about a table or view that does not exist: error 208, class
 * 16, state 1 (https://learn.microsoft.com/sql/relational-databases/errors-events/database-engine-events-and-errors-0-to-999).
 */
function invalidObjectName(name: string): SqlErrorOutcome {
  return { kind: 'error', number: 208, state: 1, severity: 16, message: `Invalid object name '${name}'.` };
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

type SelectItem = { type: ColumnDefinition['type']; value: CellValue };

// The expressions with a fixed meaning, by their tokens joined without spaces (all are a few tokens).
const longestKnownExpression = 8;
const longestKnownToken = 16;

function evaluateExpression(
  tokens: readonly Token[],
  context: QueryContext,
  work: WorkCounter,
): SelectItem | SqlErrorOutcome | undefined {
  work.add(tokens.length);
  const [first, second] = tokens;
  if (first === undefined || tokens.length > longestKnownExpression) return undefined;
  const number = tokens.length === 1 ? first : first.text === '-' && tokens.length === 2 ? second : undefined;
  if (number?.kind === 'number' && /^\d{1,9}$/.test(number.text)) {
    return { type: { kind: 'int', bytes: 4 }, value: Number(number.text) * (number === first ? 1 : -1) };
  }
  if (tokens.length === 1 && first.kind === 'string') {
    return { type: { kind: 'nvarchar', characters: Math.max(first.value.length, 1) }, value: first.value };
  }
  const name128 = (value: string): SelectItem => ({ type: { kind: 'nvarchar', characters: 128 }, value });
  // Every expression with a fixed meaning is short: longer tokens cannot be one (and are not copied).
  const compact = tokens.every((token) => token.raw.length <= longestKnownToken)
    ? tokens.map((token) => (token.kind === 'string' ? token.raw.toLowerCase() : token.text)).join('')
    : '';
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
  if (tokens.length === 1 && first.kind === 'variable' && !first.text.startsWith('@@')) {
    if (!context.parameters.has(first.text)) return undeclaredVariable(first.raw);
    const value = context.parameters.get(first.text) ?? null;
    if (typeof value === 'number' && Number.isInteger(value) && Math.abs(value) <= 2_147_483_647) {
      return { type: { kind: 'int', bytes: 4 }, value };
    }
    if (typeof value === 'bigint') return { type: { kind: 'int', bytes: 8 }, value: Number(value) };
    const text = value === null ? null : String(value);
    return { type: { kind: 'nvarchar', characters: 4000 }, value: text };
  }
  return undefined;
}

/** Splits a select list on commas outside parentheses. */
function splitTopLevel(tokens: readonly Token[], work: WorkCounter): Token[][] {
  const items: Token[][] = [[]];
  let depth = 0;
  for (const token of tokens) {
    work.add();
    if (token.kind === 'punctuation' && token.text === '(') depth += 1;
    else if (token.kind === 'punctuation' && token.text === ')') depth -= 1;
    else if (token.kind === 'punctuation' && token.text === ',' && depth === 0) {
      items.push([]);
      continue;
    }
    items[items.length - 1]?.push(token);
  }
  return items;
}

/** `SELECT <expression> [[AS] alias], …` without FROM: one row of server facts. */
function selectScalars(
  tokens: readonly Token[],
  context: QueryContext,
  work: WorkCounter,
): StatementOutcome | undefined {
  if (tokens[0]?.kind !== 'word' || tokens[0].text !== 'select' || tokens.length < 2) return undefined;
  const list = tokens.slice(1);
  work.add(list.length);
  if (list.some((token) => token.kind === 'word' && token.text === 'from')) return undefined;
  const columns: ColumnDefinition[] = [];
  const row: CellValue[] = [];
  for (const item of splitTopLevel(list, work)) {
    const last = item[item.length - 1];
    let expression: readonly Token[] = item;
    let alias = '';
    if (last?.kind === 'word' && item.length >= 2) {
      const beforeAlias = item[item.length - 2];
      const candidate = item.slice(0, beforeAlias?.kind === 'word' && beforeAlias.text === 'as' ? -2 : -1);
      if (candidate.length > 0 && evaluateExpression(candidate, context, work) !== undefined) {
        expression = candidate;
        alias = aliasName(last);
      }
    }
    const evaluated = evaluateExpression(expression, context, work);
    if (evaluated === undefined) return undefined;
    if ('kind' in evaluated) return evaluated;
    columns.push({ name: alias, type: evaluated.type });
    row.push(evaluated.value);
  }
  return { kind: 'rows', columns, rows: [row] };
}

/** A column alias as written (case kept), without its brackets or quotes. */
function aliasName(token: Token): string {
  const raw = token.raw;
  const quoted = raw.startsWith('[') || raw.startsWith('"');
  return quoted ? raw.slice(1, -1) : raw;
}

function parameterValue(variable: Token, context: QueryContext): ParameterValue | SqlErrorOutcome {
  if (!context.parameters.has(variable.text)) return undeclaredVariable(variable.raw);
  return context.parameters.get(variable.text) ?? null;
}

function isError(value: unknown): value is SqlErrorOutcome {
  return typeof value === 'object' && value !== null && 'kind' in value && value.kind === 'error';
}

/** `notes` or `dbo.notes` (brackets already gone). */
function notesTable(cursor: TokenCursor): boolean {
  if (cursor.word('dbo')) return cursor.punctuation('.') && cursor.word('notes') !== undefined;
  return cursor.word('notes') !== undefined;
}

function insertNote(
  tokens: readonly Token[],
  context: QueryContext,
  work: WorkCounter,
): StatementOutcome | undefined {
  const cursor = new TokenCursor(tokens, work);
  if (!cursor.word('insert') || !cursor.word('into') || !notesTable(cursor)) return undefined;
  if (!cursor.punctuation('(') || !cursor.word('body') || !cursor.punctuation(')')) return undefined;
  const output = cursor.word('output') !== undefined;
  if (output && !(cursor.word('inserted') && cursor.punctuation('.') && cursor.word('id'))) return undefined;
  if (!cursor.word('values') || !cursor.punctuation('(')) return undefined;
  const variable = cursor.take('variable');
  if (variable === undefined || !cursor.punctuation(')') || !cursor.done) return undefined;
  const value = parameterValue(variable, context);
  if (isError(value)) return value;
  const note = context.notes.insert(value === null ? null : String(value));
  if (output) {
    return { kind: 'rows', columns: [{ name: 'id', type: { kind: 'int', bytes: 4 } }], rows: [[note.id]] };
  }
  return { kind: 'count', command: CurrentCommand.insert, rowCount: 1 };
}

function selectNotes(
  tokens: readonly Token[],
  context: QueryContext,
  work: WorkCounter,
): StatementOutcome | undefined {
  const cursor = new TokenCursor(tokens, work);
  if (!cursor.word('select') || !cursor.word('id') || !cursor.punctuation(',') || !cursor.word('body'))
    return undefined;
  if (!cursor.word('from') || !notesTable(cursor)) return undefined;
  if (cursor.word('order')) {
    if (!cursor.word('by') || !cursor.word('id')) return undefined;
    cursor.word('asc');
  } else if (cursor.word('where')) {
    if (!cursor.word('id') || !cursor.punctuation('=')) return undefined;
    const reference = cursor.take('variable', 'number');
    if (reference === undefined || !cursor.done) return undefined;
    const value = reference.kind === 'variable' ? parameterValue(reference, context) : Number(reference.text);
    if (isError(value)) return value;
    const note = context.notes.byId(Number(value));
    return { kind: 'rows', columns: noteColumns, rows: note ? [[note.id, note.body]] : [] };
  }
  if (!cursor.done) return undefined;
  return {
    kind: 'rows',
    columns: noteColumns,
    rows: context.notes.all().map((note) => [note.id, note.body]),
  };
}

function deleteNotes(
  tokens: readonly Token[],
  context: QueryContext,
  work: WorkCounter,
): StatementOutcome | undefined {
  const cursor = new TokenCursor(tokens, work);
  if (!cursor.word('delete')) return undefined;
  cursor.word('from');
  if (!notesTable(cursor) || !cursor.done) return undefined;
  return { kind: 'count', command: CurrentCommand.delete, rowCount: context.notes.deleteAll() };
}

function controlStatement(tokens: readonly Token[], work: WorkCounter): StatementOutcome | undefined {
  const cursor = new TokenCursor(tokens, work);
  const verb = cursor.word('begin', 'commit', 'rollback', 'waitfor');
  if (verb === undefined) return undefined;
  if (verb === 'waitfor') {
    const delay = cursor.word('delay') ? cursor.take('string') : undefined;
    if (delay === undefined || !cursor.done || delay.value.length > 12) return undefined;
    const wait = /^(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?$/.exec(delay.value);
    if (!wait) return undefined;
    const [hours, minutes, seconds] = [wait[1], wait[2], wait[3]].map(Number) as [number, number, number];
    const milliseconds =
      ((hours * 60 + minutes) * 60 + seconds) * 1000 + Number((wait[4] ?? '0').padEnd(3, '0'));
    return { kind: 'wait', milliseconds: Math.min(milliseconds, maximumWaitMilliseconds) };
  }
  // BEGIN needs TRAN[SACTION]; COMMIT and ROLLBACK may also say WORK or nothing; then an optional name.
  const noun = cursor.word('tran', 'transaction', ...(verb === 'begin' ? [] : ['work']));
  if (verb === 'begin' && noun === undefined) return undefined;
  cursor.take('word');
  if (!cursor.done) return undefined;
  return { kind: 'transaction', action: verb as 'begin' | 'commit' | 'rollback' };
}

/** tedious's session set-up: every line (or `;`-separated part) is `SET <option> …`. */
function isSetBatch(tokens: readonly Token[], work: WorkCounter): boolean {
  let partStart = true;
  for (let index = 0; index < tokens.length; index += 1) {
    work.add();
    const token = tokens[index] as Token;
    if (token.kind === 'punctuation' && token.text === ';') {
      partStart = true;
      continue;
    }
    if (partStart || token.afterLineBreak) {
      const option = tokens[index + 1];
      if (token.kind !== 'word' || token.text !== 'set') return false;
      if (
        option === undefined ||
        (option.kind !== 'word' && option.kind !== 'number') ||
        option.afterLineBreak
      ) {
        return false;
      }
    }
    partStart = false;
  }
  return tokens.length > 0;
}

/**
 * Runs a batch or an sp_executesql statement; a batch of SET options (tedious's initial SQL) is
 * fine. The work is linear in the statement's length (`work` counts it, for tests).
 */
export function runStatement(
  statement: string,
  context: QueryContext,
  work: WorkCounter = new WorkCounter(),
): StatementOutcome {
  const tokens = tokenize(statement, work);
  if (isSetBatch(tokens, work)) return { kind: 'done', command: CurrentCommand.set };
  let end = tokens.length;
  while (end > 0 && tokens[end - 1]?.kind === 'punctuation' && tokens[end - 1]?.text === ';') {
    work.add();
    end -= 1;
  }
  const body = tokens.slice(0, end);
  work.add(body.length);
  // One statement per batch; an unterminated string or comment is not one the endpoint knows.
  const single = !body.some(
    (token) => token.kind === 'unterminated' || (token.kind === 'punctuation' && token.text === ';'),
  );
  return (
    (single
      ? (controlStatement(body, work) ??
        insertNote(body, context, work) ??
        selectNotes(body, context, work) ??
        deleteNotes(body, context, work) ??
        selectScalars(body, context, work))
      : undefined) ??
    missingObject(single ? body : [], work) ??
    notSupported(statement.trim())
  );
}

function missingObject(tokens: readonly Token[], work: WorkCounter): SqlErrorOutcome | undefined {
  const name = missingObjectName(tokens, work);
  return name === undefined ? undefined : invalidObjectName(name);
}
