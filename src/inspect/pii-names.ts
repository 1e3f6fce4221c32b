// Columns that look personal by their name and type alone, as a CREATE TABLE declares
// them: what `inspect --suggest` proposes from the DDL and what `mask --require-coverage`
// insists on. Names are read in English, French, German, Dutch and Spanish.
//
// A column name is split into tokens (snake_case, camelCase, digits, spaces, accents
// removed): `billingPostalCode` → billing postal code. Three kinds of terms match:
//   sequences  consecutive tokens (`first name`, `date of birth`, `tax id`)
//   stems      a substring of the tokens written together, for long distinctive words
//              (`telefon` in telefonnummer, `adres` in e_mailadres, `geburt` in geburtsdatum)
//   tokens     one whole token, for short words (`ip`, `zip`, `tel`, `nom`)
// Some terms count only in context: a bare `name` (or `nom`, `naam`, `nombre`, `photo`,
// `company`) only in a table about people (customer, employee, kunde, klant, usuario, ...);
// `state`, `region`, `district`, ... only beside an address, city or postal code column, and
// not in a table named after them (a list of cities is not anyone's address).
// A name ending in a token like id, type, count, status, at, verified is about the thing,
// not the thing itself (`email_verified`, `phone_type`, `address_id`), unless a term ends
// with it (`tax_id`). Boolean columns are never flagged; numbers only as phones, postal
// codes, bank accounts and national ids; dates and times only as birth dates.
// Types flag too: inet (an IP address) and macaddr (a device address).

import type { ColumnInfo, SchemaCatalog, TableInfo } from '../schema/catalog.js';
import type { ResolvedType } from '../schema/types.js';

export type PiiCategory =
  | 'e-mail'
  | 'phone'
  | 'name'
  | 'company'
  | 'address'
  | 'city'
  | 'postal code'
  | 'address part'
  | 'birth date'
  | 'bank account'
  | 'national or tax id'
  | 'ip address'
  | 'device address'
  | 'notes'
  | 'login'
  | 'password'
  | 'photo';

export interface PiiFlag {
  source: 'name' | 'type' | 'content';
  category: PiiCategory;
  /** Why, for a person: `name "first_name"`, `type inet`, `content: 12 of 12 sampled values ...`. */
  why: string;
}

interface Term {
  category: PiiCategory;
  kind: 'sequence' | 'stem' | 'token';
  /** Tokens of a sequence; the one word of a stem or token. */
  words: readonly string[];
  /** person: only in a table about people; whole-person: also the whole column name; address: beside an address. */
  context?: 'person' | 'whole-person' | 'address';
  /** A stem that must start at a token boundary. */
  anchored?: boolean;
}

const CATEGORIES: ReadonlyArray<
  [PiiCategory, { sequences?: string[]; stems?: string[]; tokens?: string[]; personTokens?: string[]; wholePersonTokens?: string[]; addressTokens?: string[] }]
> = [
  [
    'ip address',
    {
      sequences: ['ip addr', 'ip address', 'remote addr', 'remote address', 'client addr'],
      // ^: the stem must start a token (shipaddress is not an IP address).
      stems: ['^ipaddress', '^ipaddr', '^ipadres', '^ipdireccion', 'direccionip', 'adresseip'],
      tokens: ['ip', 'ipv4', 'ipv6'],
    },
  ],
  [
    'e-mail',
    {
      sequences: ['e mail'],
      stems: ['email', 'courriel', 'correo', 'mailadres'],
      tokens: ['mail', 'mails'],
    },
  ],
  [
    'phone',
    {
      stems: ['phone', 'telefon', 'telefoon', 'telephone', 'telefax', 'celular', 'rufnummer', 'festnetz', 'mobilenumber', 'mobilnummer', 'handynummer', 'mobielnummer'],
      tokens: ['tel', 'tlf', 'tfno', 'telf', 'fax', 'gsm', 'mobile', 'mobil', 'movil', 'mobiel', 'handy', 'portable'],
    },
  ],
  [
    'birth date',
    {
      sequences: ['date of birth', 'birth date', 'fecha nac', 'fec nac', 'geb datum', 'date naiss'],
      stems: ['birth', 'geburt', 'naissance', 'nacimiento', 'geboorte', 'gebdatum', 'cumpleanos'],
      tokens: ['dob', 'naiss'],
    },
  ],
  [
    'national or tax id',
    {
      sequences: [
        'tax id', 'tax number', 'tax no', 'tax code', 'tax ref', 'vat id', 'vat number', 'vat no', 'vat code',
        'national id', 'national number', 'national identifier', 'id number', 'id card', 'identity card',
        'social security', 'fiscal code', 'codice fiscale', 'numero fiscal', 'ust id', 'btw nummer', 'btw nr',
      ],
      stems: [
        'taxid', 'taxnumber', 'vatnumber', 'steuernummer', 'steuerid', 'socialsecurity', 'securitesociale', 'passport',
        'reisepass', 'pasaporte', 'paspoort', 'sofinummer', 'burgerservicenummer', 'personalausweis', 'identitycard',
        'cartedidentite', 'numerofiscal', 'nationalid',
      ],
      tokens: ['ssn', 'nir', 'bsn', 'dni', 'nif', 'nie', 'cif', 'insee', 'curp', 'cuit', 'vat', 'siren', 'siret'],
    },
  ],
  [
    'bank account',
    {
      sequences: ['bank account', 'account number', 'card number', 'credit card', 'account no'],
      stems: ['iban', 'bankaccount', 'kontonummer', 'bankverbindung', 'rekeningnummer', 'creditcard', 'cardnumber', 'kreditkarte', 'numerocuenta', 'cuentabancaria'],
      tokens: ['rib', 'ccn'],
    },
  ],
  [
    'postal code',
    {
      sequences: ['zip code', 'post code', 'postal code', 'code postal', 'codigo postal', 'cod postal'],
      stems: ['postal', 'zipcode', 'postcode', 'postleitzahl', 'codigopostal', 'codepostal', 'codpostal'],
      tokens: ['zip', 'plz', 'npa'],
      addressTokens: ['cp'],
    },
  ],
  [
    'address',
    {
      sequences: ['house number', 'street number', 'house no', 'address line'],
      stems: ['address', 'adres', 'direccion', 'domicilio', 'street', 'strasse', 'straat', 'hausnummer', 'huisnummer', 'wohnort', 'anschrift'],
      tokens: ['addr', 'rue', 'calle', 'avenida', 'avenue', 'domicile'],
    },
  ],
  [
    'city',
    {
      stems: ['woonplaats', 'localidad', 'poblacion', 'municipio', 'gemeente', 'localite'],
      tokens: ['city', 'town', 'ville', 'stadt', 'ort', 'stad', 'ciudad', 'plaats', 'commune', 'gemeinde', 'village'],
    },
  ],
  [
    'address part',
    {
      addressTokens: [
        'state', 'region', 'district', 'province', 'provincia', 'county', 'bundesland', 'departement', 'departamento',
        'canton', 'kanton', 'provincie', 'suburb', 'neighbourhood', 'neighborhood', 'barrio', 'quartier', 'wijk', 'comunidad',
      ],
    },
  ],
  [
    'login',
    {
      sequences: ['user name', 'login name', 'screen name'],
      stems: ['username', 'benutzername', 'gebruikersnaam', 'identifiant', 'loginname', 'nombreusuario', 'nomutilisateur'],
      tokens: ['login', 'usuario', 'utilisateur', 'benutzer', 'gebruiker'],
    },
  ],
  [
    'password',
    {
      stems: ['password', 'passwort', 'motdepasse', 'contrasena', 'wachtwoord', 'kennwort', 'passphrase'],
      tokens: ['passwd', 'pwd', 'pin'],
    },
  ],
  [
    'name',
    {
      sequences: ['nom de famille', 'nom complet', 'nombre completo', 'primer apellido', 'segundo apellido'],
      stems: [
        'firstname', 'lastname', 'fullname', 'surname', 'givenname', 'familyname', 'middlename', 'maidenname', 'nickname', 'forename',
        'vorname', 'nachname', 'familienname', 'geburtsname', 'rufname', 'prenom', 'apellido', 'voornaam', 'achternaam',
        'tussenvoegsel', 'roepnaam', 'meisjesnaam', 'nomdefamille', 'nombrecompleto',
      ],
      wholePersonTokens: ['name', 'names', 'nom', 'naam', 'nombre', 'nombres', 'nombrecompleto'],
    },
  ],
  [
    'company',
    {
      sequences: ['company name', 'firm name', 'business name', 'nom societe', 'nombre empresa', 'bedrijfs naam'],
      stems: ['companyname', 'firmenname', 'bedrijfsnaam', 'raisonsociale', 'razonsocial'],
      personTokens: ['company', 'employer', 'firma', 'societe', 'entreprise', 'empresa', 'bedrijf', 'werkgever', 'arbeitgeber'],
    },
  ],
  [
    'notes',
    {
      stems: ['comment', 'comentario', 'kommentar', 'opmerking', 'bemerkung', 'anmerkung', 'notiz', 'observacion', 'toelichting', 'remarque', 'remark', 'annotation'],
      tokens: ['note', 'notes', 'memo', 'memos', 'nota', 'notas', 'remarks', 'observations', 'notities', 'notitie'],
    },
  ],
  [
    'photo',
    {
      personTokens: ['photo', 'photos', 'picture', 'pictures', 'avatar', 'foto', 'fotos', 'bild', 'portrait', 'selfie', 'headshot', 'pic'],
    },
  ],
];

/** Qualifiers that make `X name` a person's (or a party's) name: contact name, ship name, ... */
const NAME_QUALIFIERS = new Set([
  'first', 'last', 'given', 'family', 'full', 'middle', 'maiden', 'display', 'contact', 'customer', 'client', 'ship', 'shipping',
  'billing', 'bill', 'recipient', 'receiver', 'sender', 'owner', 'holder', 'person', 'employee', 'member', 'patient', 'student',
  'buyer', 'seller', 'guest', 'driver', 'parent', 'spouse', 'partner', 'emergency', 'legal', 'real', 'birth', 'married',
  'cardholder', 'delivery', 'invoice', 'beneficiary', 'author', 'applicant', 'tenant', 'landlord', 'doctor',
]);

/** Last tokens that make a name about the thing rather than the thing (email_verified, phone_type, address_id). */
const ABOUT_SUFFIXES = new Set([
  'id', 'ids', 'uuid', 'key', 'fk', 'ref', 'count', 'cnt', 'type', 'types', 'kind', 'status', 'state', 'verified', 'confirmed',
  'valid', 'validated', 'sent', 'flag', 'flags', 'enabled', 'disabled', 'format', 'template', 'policy', 'optin', 'optout', 'consent',
  'length', 'len', 'at', 'on', 'date', 'time', 'ts', 'visibility', 'visible', 'required', 'changed', 'updated', 'created',
  'modified', 'opened', 'bounced', 'prefix', 'country', 'lang', 'language', 'locale', 'tz', 'timezone', 'provider', 'domain',
  'label', 'level', 'mode', 'setting', 'settings', 'preference', 'preferences', 'seq', 'sequence', 'index', 'idx', 'version',
]);

/** Table names (tokens, or stems of the name written together) that say a table is about people. */
const PERSON_TABLE_STEMS = [
  'customer', 'client', 'person', 'people', 'employ', 'staff', 'contact', 'partner', 'member', 'patient', 'student', 'driver',
  'owner', 'author', 'applicant', 'candidate', 'guest', 'visitor', 'subscriber', 'tenant', 'profile', 'kunde',
  'mitarbeiter', 'benutzer', 'nutzer', 'klant', 'medewerker', 'gebruiker', 'persoon', 'empleado', 'usuario', 'utilisateur',
  'salarie', 'adherent', 'membre', 'personne', 'socio', 'paciente', 'alumno', 'leerling', 'teacher', 'lehrer', 'worker',
  'buyer', 'seller', 'passenger', 'traveler', 'traveller', 'recipient', 'beneficiar', 'contributor', 'volunteer', 'donor',
  'resident', 'citizen', 'voter', 'lead',
];
const PERSON_TABLE_TOKENS = new Set(['user', 'users', 'lid', 'leden', 'hr']);

const TERMS: readonly Term[] = CATEGORIES.flatMap(([category, t]) => [
  ...(t.sequences ?? []).map((s): Term => ({ category, kind: 'sequence', words: s.split(' ') })),
  ...(t.stems ?? []).map((s): Term => (s.startsWith('^') ? { category, kind: 'stem', words: [s.slice(1)], anchored: true } : { category, kind: 'stem', words: [s] })),
  ...(t.tokens ?? []).map((s): Term => ({ category, kind: 'token', words: [s] })),
  ...(t.personTokens ?? []).map((s): Term => ({ category, kind: 'token', words: [s], context: 'person' })),
  ...(t.wholePersonTokens ?? []).map((s): Term => ({ category, kind: 'token', words: [s], context: 'whole-person' })),
  ...(t.addressTokens ?? []).map((s): Term => ({ category, kind: 'token', words: [s], context: 'address' })),
]);

/** `billingPostalCode` → ['billing', 'postal', 'code']; accents dropped, ß → ss. */
export function nameTokens(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/ß/g, 'ss')
    .split(/[^a-z0-9]+|(?<=[a-z])(?=[0-9])|(?<=[0-9])(?=[a-z])/)
    .filter((t) => t !== '' && !/^[0-9]+$/.test(t));
}

/** Whether a table's name says it is about people. */
export function isPersonTable(tableName: string): boolean {
  const tokens = nameTokens(tableName);
  if (tokens.some((t) => PERSON_TABLE_TOKENS.has(t))) return true;
  const compact = tokens.join('');
  return PERSON_TABLE_STEMS.some((s) => compact.includes(s));
}

function hasSequence(tokens: readonly string[], words: readonly string[]): number {
  outer: for (let i = 0; i + words.length <= tokens.length; i++) {
    for (let j = 0; j < words.length; j++) if (tokens[i + j] !== words[j]) continue outer;
    return i;
  }
  return -1;
}

interface NameMatch {
  term: Term;
  /** Index of the first token the term covers. */
  start: number;
  /** The term covers the name's last token (so an about-suffix belongs to the term). */
  endsName: boolean;
}

/** Where `stem` occurs in the tokens written together, starting at a token's start; -1 if nowhere. */
function anchoredIndex(tokens: readonly string[], stem: string): number {
  const compact = tokens.join('');
  let at = 0;
  for (const t of tokens) {
    if (compact.startsWith(stem, at)) return at;
    at += t.length;
  }
  return -1;
}

/** The token holding character `at` of the tokens written together. */
function tokenAt(tokens: readonly string[], at: number): number {
  let end = 0;
  for (let i = 0; i < tokens.length; i++) {
    end += tokens[i]!.length;
    if (at < end) return i;
  }
  return tokens.length - 1;
}

function matchTerms(tokens: readonly string[], person: boolean, addressQualifiers: ReadonlySet<string>): NameMatch[] {
  const compact = tokens.join('');
  const out: NameMatch[] = [];
  for (const term of TERMS) {
    if ((term.context === 'person' || term.context === 'whole-person') && !person) continue;
    if (term.context === 'whole-person' && tokens.length !== 1) continue;
    if (term.kind === 'sequence') {
      const i = hasSequence(tokens, term.words);
      if (i >= 0) out.push({ term, start: i, endsName: i + term.words.length === tokens.length });
    } else if (term.kind === 'token') {
      const i = tokens.lastIndexOf(term.words[0]!);
      if (i < 0) continue;
      // An address part counts beside an address of the same qualifier: billing_state with billing_address.
      if (term.context === 'address' && !addressQualifiers.has(tokens.slice(0, i).join(' '))) continue;
      out.push({ term, start: i, endsName: i === tokens.length - 1 });
    } else {
      const at = term.anchored ? anchoredIndex(tokens, term.words[0]!) : compact.lastIndexOf(term.words[0]!);
      if (at >= 0) out.push({ term, start: tokenAt(tokens, at), endsName: at + term.words[0]!.length === compact.length });
    }
  }
  // `X name` with a personal qualifier: contact_name, ship_name, customerName.
  const n = tokens.indexOf('name');
  if (n > 0 && NAME_QUALIFIERS.has(tokens[n - 1]!)) {
    out.push({ term: { category: 'name', kind: 'sequence', words: [tokens[n - 1]!, 'name'] }, start: n - 1, endsName: n === tokens.length - 1 });
  }
  return out;
}

function allowedForType(category: PiiCategory, type: ResolvedType): boolean {
  const kind = type.kind === 'array' ? (type.element?.kind ?? 'unsupported') : type.kind;
  switch (kind) {
    case 'boolean':
      return false;
    case 'integer':
    case 'numeric':
      return category === 'phone' || category === 'postal code' || category === 'bank account' || category === 'national or tax id';
    case 'date':
    case 'timestamp':
    case 'timestamptz':
    case 'time':
    case 'timetz':
    case 'interval':
      return category === 'birth date';
    case 'enum':
      return false; // a fixed list of labels, not free data
    default:
      return true;
  }
}

const ADDRESS_ANCHORS: ReadonlySet<PiiCategory> = new Set(['address', 'city', 'postal code']);
const NO_ADDRESS: ReadonlySet<string> = new Set();

/**
 * The qualifiers of a table's address columns: '' for address, city, postal_code;
 * 'billing' for billing_address, ... Address parts (state, region) count beside them.
 */
function addressQualifiers(table: TableInfo, person: boolean, tableTokens: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  for (const c of table.columns) {
    const tokens = nameTokens(c.name);
    const last = tokens[tokens.length - 1] ?? '';
    for (const m of matchTerms(tokens, person, NO_ADDRESS)) {
      if (!ADDRESS_ANCHORS.has(m.term.category) || (!m.endsName && ABOUT_SUFFIXES.has(last))) continue;
      if (m.term.words.some((w) => tableTokens.has(w))) continue; // city.city: a list of cities, not an address
      out.add(tokens.slice(0, m.start).join(' '));
    }
  }
  return out;
}

/**
 * What the DDL alone says about each column of a table: flags by name and by type.
 * Columns without a flag are left out of the map.
 */
export function flagColumnsByName(table: TableInfo, catalog: SchemaCatalog): Map<string, PiiFlag[]> {
  const person = isPersonTable(table.qname.name);
  const tableTokens = new Set(nameTokens(table.qname.name));
  const qualifiers = addressQualifiers(table, person, tableTokens);
  const out = new Map<string, PiiFlag[]>();
  for (const column of table.columns) {
    const flags = flagColumn(column, catalog.resolveType(column.type), person, qualifiers, tableTokens);
    if (flags.length > 0) out.set(column.name, flags);
  }
  return out;
}

function flagColumn(column: ColumnInfo, type: ResolvedType, person: boolean, address: ReadonlySet<string>, tableTokens: ReadonlySet<string>): PiiFlag[] {
  const flags: PiiFlag[] = [];
  const base = type.kind === 'array' ? type.element : type;
  if (base?.kind === 'inet') flags.push({ source: 'type', category: 'ip address', why: `type ${type.display}` });
  if (base?.kind === 'macaddr' || base?.kind === 'macaddr8') flags.push({ source: 'type', category: 'device address', why: `type ${type.display}` });
  const tokens = nameTokens(column.name);
  if (tokens.length === 0) return flags;
  const last = tokens[tokens.length - 1]!;
  const seen = new Set<PiiCategory>(flags.map((f) => f.category));
  for (const m of matchTerms(tokens, person, address)) {
    const category = m.term.category;
    if (seen.has(category)) continue;
    // email_address, ip_address: the address is the e-mail or IP itself.
    if (category === 'address' && (seen.has('e-mail') || seen.has('ip address'))) continue;
    if (!m.endsName && ABOUT_SUFFIXES.has(last)) continue;
    if (!allowedForType(category, type)) continue;
    // A list of cities or regions names its own subject: city.city is not an address.
    if ((category === 'city' || category === 'address part') && m.term.words.some((w) => tableTokens.has(w))) continue;
    seen.add(category);
    const wholeName = m.term.words.join('') === tokens.join('') && m.term.context === undefined;
    flags.push({ source: 'name', category, why: `name ${JSON.stringify(column.name)}${wholeName ? '' : `: ${describeTerm(m.term)}`}` });
  }
  return flags;
}

function describeTerm(term: Term): string {
  const word = term.words.join(' ');
  const context = term.context === 'person' || term.context === 'whole-person' ? ' in a table about people' : term.context === 'address' ? ' beside an address' : '';
  return `${term.kind === 'stem' ? 'contains ' : ''}${word}${context}`;
}
