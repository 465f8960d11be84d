import type { Token } from './sql-tokens.js';
import type { WorkCounter } from './work-counter.js';

/** The one user table the endpoint has, by its one- and two-part names (lower case). */
const knownTables = new Set(['notes', 'dbo.notes']);

// Schemas whose objects exist in every Azure SQL database (catalog views): a statement about them
// is unsupported here, not about a missing object.
const systemSchemas = new Set(['sys', 'information_schema']);

// The words after which T-SQL names a table or view.
const objectPositions = new Set(['from', 'join', 'into', 'update', 'table']);

/**
 * The first table or view a statement names that does not exist in the endpoint's database — a
 * one- or two-part name other than `dbo.notes`, outside the system schemas — as it was written
 * (brackets and quotes removed, case kept), so the answer can be Azure SQL's error 208. Names with
 * a database or server part, functions (`OPENJSON(…)`), variables and subqueries are not judged.
 * Linear in the number of tokens.
 */
export function missingObjectName(tokens: readonly Token[], work: WorkCounter): string | undefined {
  for (let index = 0; index < tokens.length; index += 1) {
    work.add();
    const token = tokens[index] as Token;
    const namesObject =
      (token.kind === 'word' && objectPositions.has(token.text)) ||
      // `DELETE dbo.notes` and `DELETE FROM …` (the FROM case is handled by `from`).
      (token.kind === 'word' && token.text === 'delete' && tokens[index + 1]?.text !== 'from');
    if (!namesObject) continue;
    // After INTO, a parenthesis opens the column list; after FROM or JOIN, a function's arguments.
    const name = objectNameAt(tokens, index + 1, token.text !== 'into');
    if (name === undefined) continue;
    if (name.parts.length > 2) continue;
    const schema = name.parts.length === 2 ? (name.parts[0] as Token).text : undefined;
    if (schema !== undefined && systemSchemas.has(schema)) continue;
    const normalized = name.parts.map((part) => part.text).join('.');
    if (knownTables.has(normalized)) continue;
    // One-part names beginning with `sys` are compatibility views (sysobjects, …).
    if (schema === undefined && normalized.startsWith('sys')) continue;
    return name.parts.map(unquoted).join('.');
  }
  return undefined;
}

function objectNameAt(
  tokens: readonly Token[],
  start: number,
  parenthesisCallsFunction: boolean,
): { parts: Token[] } | undefined {
  const parts: Token[] = [];
  let index = start;
  for (;;) {
    const part = tokens[index];
    if (part?.kind !== 'word') return undefined;
    parts.push(part);
    const after = tokens[index + 1];
    if (after?.kind === 'punctuation' && after.text === '.') {
      index += 2;
      // A name has at most four parts; beyond it is not a name this check judges.
      if (parts.length >= 4) return undefined;
      continue;
    }
    // `name(` is a function call, not a table.
    if (parenthesisCallsFunction && after?.kind === 'punctuation' && after.text === '(') return undefined;
    return { parts };
  }
}

function unquoted(token: Token): string {
  const raw = token.raw;
  return raw.startsWith('[') || raw.startsWith('"') ? raw.slice(1, -1) : raw;
}
