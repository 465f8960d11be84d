import { describe, expect, it } from 'vitest';
import type { ParameterValue } from '../src/sql/client-requests.js';
import { NotesTable, type QueryContext, runStatement } from '../src/sql/query-handler.js';

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
