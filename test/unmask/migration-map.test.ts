// The migration map: parsed, normalised, and every problem reported with its path.
import { describe, expect, it } from 'vitest';
import { mapTable, parseMigrationMap, unusedMapEntries } from '../../src/unmask/migration-map.js';
import { PgcloakError } from '../../src/errors.js';

function problems(text: string): string {
  try {
    parseMigrationMap(text);
  } catch (err) {
    expect(err).toBeInstanceOf(PgcloakError);
    expect((err as PgcloakError).code).toBe('MAP_INVALID');
    return (err as Error).message;
  }
  throw new Error('expected MAP_INVALID');
}

describe('migration map', () => {
  it('renames tables and columns, keeping the old schema for an unqualified new name', () => {
    const map = parseMigrationMap(`
tables:
  res_partner_address:
    rename: res_partner_contact
    columns:
      street: street1
  '"Sales Dept"."Client List"':
    rename: clients
    columns:
      "E-mail": {rename: email}
      name: {using: "jsonb_build_object('en_US', value)"}
      fax: {skip: true}
  old_stuff: {skip: true}
`);
    const partner = mapTable(map, 'public.res_partner_address', undefined);
    expect(partner.target).toEqual({ schema: 'public', name: 'res_partner_contact' });
    expect(partner.column('street').target).toBe('street1');
    expect(partner.column('city')).toMatchObject({ target: 'city', skip: false, using: undefined });
    const clients = mapTable(map, '"Sales Dept"."Client List"', undefined);
    expect(clients.target).toEqual({ schema: 'Sales Dept', name: 'clients' });
    expect(clients.column('E-mail').target).toBe('email');
    expect(clients.column('name')).toMatchObject({ target: 'name', using: "jsonb_build_object('en_US', value)" });
    expect(clients.column('fax').skip).toBe(true);
    expect(mapTable(map, 'public.old_stuff', undefined).skip).toBe(true);
    expect(mapTable(map, 'public.untouched', undefined)).toMatchObject({ target: { schema: 'public', name: 'untouched' }, skip: false });
  });

  it("gives partitions their parent's column renames, not its rename", () => {
    const map = parseMigrationMap('tables:\n  invoice:\n    rename: bill\n    columns: {amount: total}\n');
    const partition = mapTable(map, 'public.invoice_2022', 'public.invoice');
    expect(partition.target).toEqual({ schema: 'public', name: 'invoice_2022' });
    expect(partition.column('amount').target).toBe('total');
  });

  it('reports every problem with its path', () => {
    const message = problems(`
tables:
  a:
    rename: 42
    colums: {}
  b:
    rename: x
    skip: true
  c:
    columns:
      p: q
      r: q
      s: [1]
      t: {using: "upper(v)", frobnicate: 1}
      u: {skip: "yes"}
  d: {rename: z}
  e: {rename: z}
`);
    expect(message).toContain('tables.a.rename: expected a table name');
    expect(message).toContain("tables.a.colums: unknown field");
    expect(message).toContain('tables.b: rename and skip together make no sense');
    expect(message).toContain('tables.c.columns.r: becomes "q", as tables.c.columns.p does');
    expect(message).toContain('tables.c.columns.s: expected the new column name');
    expect(message).toContain('tables.c.columns.t.using: expected a SQL expression of `value`');
    expect(message).toContain('tables.c.columns.t.frobnicate: unknown field');
    expect(message).toContain('tables.c.columns.u.skip: expected true or false');
    expect(message).toContain('tables.e: becomes public.z, as tables.d does');
  });

  it('refuses YAML that is not a map of tables', () => {
    expect(problems('- a\n- b\n')).toContain('expected a mapping with `tables:`');
    expect(problems('tables: [a]\n')).toContain('tables: expected a mapping');
    expect(problems('tables:\n  a: 1\n')).toContain('tables.a: expected a mapping');
    expect(problems('tables: {a: {}}\nextra: 1\n')).toContain('extra: unknown field');
  });

  it('lists entries that name nothing in the vault', () => {
    const map = parseMigrationMap('tables:\n  customer:\n    columns: {nmae: name}\n  nosuch: {rename: x}\n');
    const unused = unusedMapEntries(map, [{ table: 'public.customer', ruleTable: 'public.customer', columns: ['id', 'name'] }]);
    expect(unused).toEqual([
      'tables.customer.columns.nmae: neither a key nor a masked column of public.customer in the vault',
      'tables.nosuch: no table of that name in the vault',
    ]);
  });
});
