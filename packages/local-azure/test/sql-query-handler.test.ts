import { describe, expect, it } from 'vitest';
import type { ParameterValue } from '../src/sql/client-requests.js';
import { NotesTable, type QueryContext, runStatement } from '../src/sql/query-handler.js';
import { WorkCounter } from '../src/sql/work-counter.js';

function context(parameters: Record<string, ParameterValue> = {}): QueryContext {
  return {
    principalName: 'keyless-app',
    database: 'keyless',
    spid: 51,
    serverName: 'keyless-local',
    versionText: 'keyless local SQL endpoint',
    transactionCount: 0,
    notes: new NotesTable(),
    parameters: new Map(Object.entries(parameters)),
  };
}

describe('runStatement', () => {
  it('answers scalar selects with aliases and literals', () => {
    expect(runStatement("SELECT N'it''s, here' AS [text], 42 answer, CURRENT_USER", context())).toMatchObject(
      {
        kind: 'rows',
        columns: [{ name: 'text' }, { name: 'answer' }, { name: '' }],
        rows: [["it's, here", 42, 'keyless-app']],
      },
    );
  });

  it('matches the demo table statements loosely, brackets and OUTPUT included', () => {
    const shared = context({ '@body': 'hello' });
    expect(
      runStatement('insert  into [dbo].[notes]( body ) output inserted.id values ( @body );', shared),
    ).toMatchObject({ kind: 'rows', rows: [[1]] });
    expect(runStatement('SELECT id,body FROM notes', shared)).toMatchObject({ rows: [[1, 'hello']] });
    expect(runStatement('select id, body from dbo.notes where id = 1', shared)).toMatchObject({
      rows: [[1, 'hello']],
    });
    expect(runStatement('DELETE dbo.notes', shared)).toMatchObject({ kind: 'count', rowCount: 1 });
  });

  it("accepts tedious's SET batch and refuses everything else by name", () => {
    expect(runStatement('set textsize 2147483647\nset quoted_identifier on', context())).toMatchObject({
      kind: 'done',
    });
    expect(runStatement('DROP TABLE dbo.notes', context())).toMatchObject({ kind: 'error', number: 40515 });
    expect(runStatement('SELECT 1; DROP TABLE dbo.notes', context())).toMatchObject({ kind: 'error' });
  });
});

/** Batches shaped to make a backtracking matcher explode, each `length` characters long. */
const adversarialBatches: [string, (length: number) => string][] = [
  ['SELECT, spaces, one more word', (length) => `SELECT 1${' '.repeat(length - 10)}x`],
  ['SELECT, spaces, two more words', (length) => `SELECT 1${' '.repeat(length - 12)}x y`],
  ['SELECT, alternating spaces and semicolons', (length) => `SELECT 1${' ;'.repeat((length - 9) / 2)}x`],
  ['SELECT, a very long alias list', (length) => `SELECT ${'1 a,'.repeat((length - 8) / 4)}1`],
  ['SELECT, one item of many words', (length) => `SELECT ${'a '.repeat((length - 7) / 2)}`],
  ['SELECT, nested parentheses', (length) => `SELECT ${'('.repeat(length - 7)}`],
  ['opening brackets', (length) => '['.repeat(length)],
  ['semicolons, then a word', (length) => `${';'.repeat(length - 1)}x`],
  ['quotes', (length) => "'".repeat(length)],
  ['an unterminated string of doubled quotes', (length) => `SELECT N'${"''".repeat((length - 9) / 2)}`],
  ['nested block comments', (length) => '/*'.repeat(length / 2)],
  ['line comments', (length) => '--\n'.repeat(length / 3)],
  ['SET lines', (length) => 'set x\n'.repeat(length / 6)],
  ['variables', (length) => `SELECT ${'@'.repeat(length - 7)}`],
  [
    'an INSERT that never closes',
    (length) => `INSERT INTO notes(body) VALUES(${'@b,'.repeat((length - 31) / 3)}`,
  ],
  ['WAITFOR with a huge delay string', (length) => `WAITFOR DELAY '${'0'.repeat(length - 16)}'`],
  ['COMMIT with many words', (length) => `COMMIT ${'work '.repeat((length - 7) / 5)}`],
];

describe('runStatement: work is linear in the batch', () => {
  // At most this many steps per character (tokenizing reads each character about twice; matching
  // looks at each token a bounded number of times). A backtracking matcher needs length² or length³.
  const stepsPerCharacter = 8;

  it.each(adversarialBatches)(
    '%s: 5 KB and 500 KB batches cost at most 8 steps per character',
    (_name, make) => {
      for (const length of [5_000, 500_000]) {
        const batch = make(length);
        const work = new WorkCounter();
        const outcome = runStatement(batch, context({ '@b': 'x' }), work);
        expect(outcome.kind).not.toBe('wait');
        expect(work.steps).toBeGreaterThan(0);
        expect({ length, steps: work.steps }).toEqual({
          length,
          steps: expect.toSatisfy((steps: number) => steps <= stepsPerCharacter * batch.length + 64),
        });
      }
    },
  );

  it('still refuses what it does not support with the emulator error, naming the statement', () => {
    const outcome = runStatement(`SELECT 1${' '.repeat(5_000)}x y`, context());
    expect(outcome).toMatchObject({ kind: 'error', number: 40515 });
    expect((outcome as { message: string }).message).toMatch(
      /^Statement not supported by the keyless local SQL endpoint: SELECT 1 .*not a database\.$/s,
    );
  });
});

describe('objects that do not exist', () => {
  it.each([
    ['SELECT * FROM dbo.missing', 'dbo.missing'],
    ['select id from [Orders] where id = 1', 'Orders'],
    ['INSERT INTO dbo.[Audit Log] (body) VALUES (@body)', 'dbo.Audit Log'],
    ['UPDATE customers SET name = @name', 'customers'],
    ['DELETE FROM #scratch', '#scratch'],
    ['SELECT n.id FROM dbo.notes AS n JOIN dbo.tags AS t ON t.id = n.id', 'dbo.tags'],
  ])('%s: error 208 naming %s, as Azure SQL answers', (statement, name) => {
    expect(runStatement(statement, context({ '@body': 'x', '@name': 'y' }))).toEqual({
      kind: 'error',
      number: 208,
      state: 1,
      severity: 16,
      message: `Invalid object name '${name}'.`,
    });
  });

  it.each([
    'UPDATE dbo.notes SET body = @body',
    'SELECT name FROM sys.tables',
    'SELECT * FROM INFORMATION_SCHEMA.TABLES',
    'SELECT * FROM OPENJSON(@json)',
    'SELECT * FROM otherdb.dbo.notes',
  ])('%s: an object that exists (or is not judged) stays the emulator error 40515', (statement) => {
    const outcome = runStatement(statement, context({ '@body': 'x', '@json': '[]' }));
    expect(outcome).toMatchObject({ kind: 'error', number: 40515 });
    expect((outcome as { message: string }).message).toContain('The endpoint is an emulator of Azure SQL.');
  });
});
