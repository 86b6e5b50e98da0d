/** Anything the table owners run SQL on: a DataSource, an EntityManager (a transaction) or a QueryRunner (a session). */
export interface Sql {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}
