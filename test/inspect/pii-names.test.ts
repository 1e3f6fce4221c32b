// Personal-looking columns by name and type, in English, French, German, Dutch and Spanish,
// with the context rules (people tables, address neighbours) and the exclusions.
import { beforeAll, describe, expect, it } from 'vitest';
import { flagColumnsByName, isPersonTable, nameTokens } from '../../src/inspect/pii-names.js';
import { SchemaCatalog, loadSqlParser } from '../../src/schema/catalog.js';

beforeAll(() => loadSqlParser());

/** The flagged columns of one CREATE TABLE, with their categories. */
function flags(ddl: string): Record<string, string[]> {
  const catalog = new SchemaCatalog();
  const learnt = catalog.learn(ddl, { line: 1, offset: 0 });
  if (learnt.kind !== 'table') throw new Error('not a table');
  return Object.fromEntries([...flagColumnsByName(learnt.table, catalog)].map(([c, f]) => [c, f.map((x) => x.category)]));
}

describe('nameTokens', () => {
  it('splits snake_case, camelCase, digits and accents', () => {
    expect(nameTokens('billingPostalCode')).toEqual(['billing', 'postal', 'code']);
    expect(nameTokens('E-Mail Adresse')).toEqual(['e', 'mail', 'adresse']);
    expect(nameTokens('address2')).toEqual(['address']);
    expect(nameTokens('Prénom')).toEqual(['prenom']);
    expect(nameTokens('Straße')).toEqual(['strasse']);
    expect(nameTokens('IPAddress')).toEqual(['ip', 'address']);
  });
});

describe('isPersonTable', () => {
  it('knows tables about people in five languages', () => {
    for (const t of ['customer', 'res_partner', 'Kunden', 'klanten', 'usuarios', 'utilisateurs', 'staff', 'employees', 'users', 'leden'])
      expect(isPersonTable(t), t).toBe(true);
    for (const t of ['film', 'category', 'product', 'invoice_line', 'city']) expect(isPersonTable(t), t).toBe(false);
  });
});

describe('flagColumnsByName', () => {
  it('flags the usual personal columns of a people table', () => {
    expect(
      flags(`CREATE TABLE public.customer (id integer, first_name text, last_name text, name text, email text, phone varchar(20),
        address text, city text, state text, zip text, birth_date date, iban text, vat_number text, last_ip inet, notes text,
        username text, password text, photo bytea, mac macaddr, country text, created_at timestamptz, active boolean, score integer)`),
    ).toEqual({
      first_name: ['name'],
      last_name: ['name'],
      name: ['name'],
      email: ['e-mail'],
      phone: ['phone'],
      address: ['address'],
      city: ['city'],
      state: ['address part'],
      zip: ['postal code'],
      birth_date: ['birth date'],
      iban: ['bank account'],
      vat_number: ['national or tax id'],
      last_ip: ['ip address'],
      notes: ['notes'],
      username: ['login'],
      password: ['password'],
      photo: ['photo'],
      mac: ['device address'],
    });
  });

  it('reads French, German, Dutch and Spanish names', () => {
    expect(
      flags(`CREATE TABLE public.kunde (kundennr integer, "Vorname" text, "Nachname" text, "Telefonnummer" text, "Straße" text, plz text, ort text,
        geburtsdatum date, steuernummer text, bemerkung text, "E-Mail-Adresse" text)`),
    ).toEqual({
      Vorname: ['name'],
      Nachname: ['name'],
      Telefonnummer: ['phone'],
      Straße: ['address'],
      plz: ['postal code'],
      ort: ['city'],
      geburtsdatum: ['birth date'],
      steuernummer: ['national or tax id'],
      bemerkung: ['notes'],
      'E-Mail-Adresse': ['e-mail'],
    });
    expect(flags('CREATE TABLE public.client (prenom text, nom text, courriel text, telephone text, adresse text, ville text, code_postal text, date_naissance date, commentaire text)')).toEqual({
      prenom: ['name'],
      nom: ['name'],
      courriel: ['e-mail'],
      telephone: ['phone'],
      adresse: ['address'],
      ville: ['city'],
      code_postal: ['postal code'],
      date_naissance: ['birth date'],
      commentaire: ['notes'],
    });
    expect(flags('CREATE TABLE public.klant (voornaam text, achternaam text, telefoon text, straat text, huisnummer text, postcode text, woonplaats text, geboortedatum date, opmerking text)')).toEqual({
      voornaam: ['name'],
      achternaam: ['name'],
      telefoon: ['phone'],
      straat: ['address'],
      huisnummer: ['address'],
      postcode: ['postal code'],
      woonplaats: ['city'],
      geboortedatum: ['birth date'],
      opmerking: ['notes'],
    });
    expect(flags('CREATE TABLE public.cliente (nombre text, apellidos text, correo_electronico text, telefono text, direccion text, ciudad text, codigo_postal text, fecha_nacimiento date, dni text, comentarios text)')).toEqual({
      nombre: ['name'],
      apellidos: ['name'],
      correo_electronico: ['e-mail'],
      telefono: ['phone'],
      direccion: ['address'],
      ciudad: ['city'],
      codigo_postal: ['postal code'],
      fecha_nacimiento: ['birth date'],
      dni: ['national or tax id'],
      comentarios: ['notes'],
    });
  });

  it('leaves alone what is about a thing rather than the thing', () => {
    expect(
      flags(`CREATE TABLE public.contact (id integer, address_id integer, email_verified boolean, phone_type text, email_count integer, email_sent_at timestamptz,
        product_name text, title text, country text, hire_date date, ship_via integer, state_name text)`),
    ).toEqual({});
  });

  it('takes context into account: bare names only about people, address parts only beside an address', () => {
    expect(flags('CREATE TABLE public.category (id integer, name text, picture bytea, region text)')).toEqual({});
    expect(flags('CREATE TABLE public.city (city_id integer, city text, district text)')).toEqual({});
    expect(flags('CREATE TABLE public.orders (id integer, order_state text, ship_name text, ship_address text, ship_region text, ship_city text)')).toEqual({
      ship_name: ['name'],
      ship_address: ['address'],
      ship_region: ['address part'],
      ship_city: ['city'],
    });
  });

  it('flags numbers and dates only where they can be personal', () => {
    expect(flags('CREATE TABLE public.person (phone bigint, zip integer, name_length integer, birthday date, notes_updated date, mail_opt_in boolean)')).toEqual({
      phone: ['phone'],
      zip: ['postal code'],
      birthday: ['birth date'],
    });
  });
});
