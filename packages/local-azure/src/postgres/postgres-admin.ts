import pg from 'pg';
import { adminRoleName, entraGroupRoleName } from './postgres-configuration.js';
import { scramSha256Verifier } from './scram-verifier.js';
import { quoteIdentifier, quoteLiteral } from './sql-quoting.js';

/**
 * The launcher's own superuser connection over the private Unix socket. The password lives only
 * in this object's private fields and in the pool it hands to pg.
 */
export class PostgresAdmin {
  readonly #socketFolder: string;
  readonly #port: number;
  readonly #password: string;
  #pool: pg.Pool | undefined;

  constructor(socketFolder: string, port: number, password: string) {
    this.#socketFolder = socketFolder;
    this.#port = port;
    this.#password = password;
  }

  #connectionConfig(database: string): pg.ClientConfig {
    return {
      host: this.#socketFolder,
      port: this.#port,
      user: adminRoleName,
      password: this.#password,
      database,
      connectionTimeoutMillis: 5_000,
    };
  }

  /** Connects once and runs SELECT 1: the readiness probe. */
  async probe(): Promise<true> {
    const client = new pg.Client(this.#connectionConfig('postgres'));
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } finally {
      await client.end().catch(() => {});
    }
  }

  async createDatabase(database: string): Promise<void> {
    const client = new pg.Client(this.#connectionConfig('postgres'));
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query(`CREATE DATABASE ${quoteIdentifier(database)}`);
    } finally {
      await client.end().catch(() => {});
    }
  }

  /** Opens the pool on the instance's database (again after a restart). */
  open(database: string): void {
    this.#pool = new pg.Pool({ ...this.#connectionConfig(database), max: 2, idleTimeoutMillis: 1_000 });
    // A server restart kills idle pooled connections; the pool replaces them, nothing to report.
    this.#pool.on('error', () => {});
  }

  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    await pool?.end().catch(() => {});
  }

  async query(sql: string, params?: unknown[]): Promise<unknown[]> {
    if (!this.#pool) throw new Error('the PostgreSQL instance is not running');
    const result = await this.#pool.query(sql, params);
    return result.rows;
  }

  async createEntraGroup(): Promise<void> {
    await this.query(`CREATE ROLE ${quoteIdentifier(entraGroupRoleName)} NOLOGIN`);
  }

  async createPasswordRole(database: string, name: string, password: string): Promise<void> {
    await this.query(
      `CREATE ROLE ${quoteIdentifier(name)} LOGIN PASSWORD ${quoteLiteral(scramSha256Verifier(password))}`,
    );
    await this.#grantDatabase(database, name);
  }

  async setPassword(name: string, password: string): Promise<void> {
    await this.query(
      `ALTER ROLE ${quoteIdentifier(name)} PASSWORD ${quoteLiteral(scramSha256Verifier(password))}`,
    );
  }

  /** No password at all: pg_hba sends the group to LDAP, where a token is checked instead. */
  async createEntraRole(database: string, name: string): Promise<void> {
    await this.query(
      `CREATE ROLE ${quoteIdentifier(name)} LOGIN IN ROLE ${quoteIdentifier(entraGroupRoleName)}`,
    );
    await this.#grantDatabase(database, name);
  }

  async #grantDatabase(database: string, name: string): Promise<void> {
    await this.query(
      `GRANT ALL PRIVILEGES ON DATABASE ${quoteIdentifier(database)} TO ${quoteIdentifier(name)}`,
    );
    // Since PostgreSQL 15 only the database owner may create in `public`.
    await this.query(`GRANT ALL ON SCHEMA public TO ${quoteIdentifier(name)}`);
  }
}
