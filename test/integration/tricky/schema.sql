-- A schema built to trip up a dump masker. tricky.test.ts loads it into a fresh
-- database, dumps it with the real pg_dump, masks the dump with rules.yaml,
-- restores the result and checks every column. Each table says what it exercises.
--
-- Rules of thumb for adding to it: no CHECK, UNIQUE or FOREIGN KEY constraint on a
-- column that rules.yaml masks unless the placeholder satisfies it (placeholders are
-- 'xxx' || key, 1, 0, false, ...), and no UPDATE on a keyless table (its rows are
-- keyed by their position in the dump).

SET client_min_messages = warning;

CREATE EXTENSION IF NOT EXISTS citext;

CREATE SCHEMA "Sales Dept";
CREATE SCHEMA archive;

CREATE TYPE public.mood AS ENUM ('meh', 'ok', 'happy', 'über');
CREATE DOMAIN public.login_name AS varchar(16) NOT NULL;

-- Text-like types, including the tiny varchar(5) and char(6) that cannot hold
-- 'xxx' || key for large keys; reserved words and non-ASCII as column names; a
-- generated column, which pg_dump leaves out of the COPY column list.
CREATE TABLE public.customer (
    id integer PRIMARY KEY,
    name text NOT NULL,
    nick varchar(5),
    code char(6),
    email citext UNIQUE,
    login public.login_name,
    "prénom" text,
    "user" text,
    "order" integer,
    mood public.mood,
    name_upper text GENERATED ALWAYS AS (upper(name)) STORED,
    notes text
);

INSERT INTO public.customer (id, name, nick, code, email, login, "prénom", "user", "order", mood, notes) VALUES
    (1, 'Alice Example', 'ali', 'A0001', 'alice@example.com', 'alice', 'Alice', 'alice', 10, 'happy', 'first'),
    (2, 'Bob O''Example', 'bob', 'B0002', 'Bob@Example.com', 'bob', 'Bob', 'bob', 20, 'meh', E'tab\there'),
    (3, 'Chloé Exämple', 'chlo', 'C3', 'chloe@example.com', 'chloe', 'Chloé', 'chloé', 30, 'über', 'accents'),
    (4, 'Dmitri Пример', 'дима', 'D4', 'dmitri@example.com', 'dmitri', 'Дмитрий', 'dima', NULL, 'ok', NULL),
    (5, '李 例子', '李', 'E5', 'li@example.com', 'li', '李', 'li', 50, NULL, '中文'),
    (6, 'Emoji 🎉 Person', '🎉', 'F6', 'emoji@example.com', 'emoji', '🎉', 'emoji', 60, 'happy', '👨‍👩‍👧'),
    (7, E'Line\nBreak', NULL, NULL, NULL, 'linebreak', NULL, NULL, 70, 'meh', E'a\r\nb'),
    (8, E'Back\\slash', 'b\s', 'G\8', 'back\slash@example.com', 'backslash', 'B\', 'b\', 80, 'ok', '\N'),
    (9, '"Double" quoted', '"q"', '"Q"', 'quoted@example.com', 'quoted', '"', '"', 90, 'ok', '\.'),
    (10, '', '', '', 'empty@example.com', '', '', '', 0, 'meh', ''),
    (99, 'Ninety Nine', 'nn', 'N99', 'nn@example.com', 'nn', 'N', 'n', 99, 'ok', 'two digits'),
    (12345, 'Big Key', 'big', 'BK', 'big@example.com', 'big', 'Big', 'big', 12345, 'happy', 'five digit key'),
    (123456, 'Bigger Key', 'bgr', 'BGR', 'bigger@example.com', 'bigger', 'Bigger', 'bigger', 7, 'ok', 'six digit key'),
    (2147483647, 'Max Key', 'max', 'MAX', 'max@example.com', 'max', 'Max', 'max', -1, 'meh', 'ten digit key');

-- The same table name in another schema, with different rules; and an unruled copy
-- in a third schema that the rules for "customer" must not touch.
CREATE TABLE "Sales Dept".customer (
    id bigint PRIMARY KEY,
    name text,
    region text,
    since date
);

INSERT INTO "Sales Dept".customer VALUES
    (1, 'Northwest Example Corp', 'North', '2001-02-03'),
    (2, 'Südwest Beispiel GmbH', 'South', '1999-12-31'),
    (3, NULL, NULL, NULL),
    (9000000000, 'Huge Key Ltd', 'East', 'infinity');

CREATE TABLE archive.customer (
    id integer PRIMARY KEY,
    name text,
    email text
);

INSERT INTO archive.customer VALUES
    (1, 'Archived Alice', 'old-alice@example.com'),
    (2, E'Archived\tBob', NULL);

-- Quoted identifiers with spaces, capitals and punctuation; a key column that is
-- not called id; every strategy but placeholder on one table.
CREATE TABLE "Sales Dept"."Client List" (
    "ID" integer PRIMARY KEY,
    "E-mail" text,
    "Full Name" varchar(40) NOT NULL,
    photo bytea NOT NULL,
    note text,
    code varchar(10),
    other text,
    "Phone Number" text
);

INSERT INTO "Sales Dept"."Client List" VALUES
    (1, 'client1@example.com', 'Client One', '\x89504e470d0a1a0a', 'likes tea', 'Z1', 'keep me', '+1 555 0100'),
    (2, 'client2@example.com', 'Client Two', '\x', NULL, NULL, NULL, NULL),
    (3, E'tab\tin@example.com', E'Client\tThree', '\x00', E'multi\nline', 'Z3', E'keep\\me', '+33 1 23 45 67 89'),
    (40, NULL, 'Client Forty', '\xdeadbeef', 'n', 'Z40', '', '');

-- A dot, a space and a double quote inside names.
CREATE TABLE "Sales Dept"."odd.name" (
    id integer PRIMARY KEY,
    "say ""hi""" text,
    v text
);

INSERT INTO "Sales Dept"."odd.name" VALUES
    (1, 'hello', 'one'),
    (2, 'goodbye', 'two');

-- Numbers and booleans, with the values that break naive handling (NaN, infinities,
-- extremes, subnormal floats, negative money).
CREATE TABLE public.measurement (
    id integer PRIMARY KEY,
    small smallint,
    int integer,
    big bigint,
    price numeric(12,2),
    ratio real,
    precise double precision,
    cash money,
    flag boolean,
    plain_num numeric
);

INSERT INTO public.measurement VALUES
    (1, -32768, 2147483647, -9223372036854775808, 1234567890.12, 'NaN', 'NaN', '1234.56', true, 'NaN'),
    (2, 32767, -2147483648, 9223372036854775807, -0.01, 'Infinity', '-Infinity', '-12.34', false, 'Infinity'),
    (3, 0, 0, 0, 0, 1.5e-40, 1e-300, '0', NULL, 1e-50),
    (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    (5, 7, 7, 7, 7.77, 0.1, 0.1, '7.77', true, 123456789012345678901234567890.123456789);

-- Dates and times: infinities, BC, microseconds, 24:00, time zones.
CREATE TABLE public.moment (
    id integer PRIMARY KEY,
    d date,
    ts timestamp,
    tstz timestamptz,
    t time,
    ttz timetz,
    iv interval,
    d_raw date,
    tstz_raw timestamptz
);

INSERT INTO public.moment VALUES
    (1, '2020-02-29', '2020-02-29 13:14:15.123456', '2020-02-29 13:14:15.5+05:30', '23:59:59.999999', '12:00:00+02', '1 year 2 mons 3 days 04:05:06.789', '2020-02-29', '2020-02-29 13:14:15.5+05:30'),
    (2, 'infinity', '-infinity', 'infinity', '24:00:00', '00:00:00-12', '-1 day', 'infinity', '-infinity'),
    (3, '0044-03-15 BC', '0044-03-15 12:00:00 BC', '1900-01-01 00:00:00+00', '00:00:00', '23:59:59.999999+14', '0', '0044-03-15 BC', '1900-01-01 00:00:00+00'),
    (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);

-- Structured values: json with duplicate keys and escapes, jsonb translated names
-- (the Odoo 16+ way), arrays with NULL elements, quoting, custom bounds and several
-- dimensions; binary data; a tsvector; network and identifier types.
CREATE TABLE public.document (
    id integer PRIMARY KEY,
    payload json,
    translations jsonb,
    tags text[],
    scores integer[],
    grid integer[][],
    names text[][],
    blob bytea,
    search tsvector,
    uid uuid,
    ip inet,
    net cidr,
    mac macaddr,
    ip_raw inet
);

INSERT INTO public.document VALUES
    (1,
     '{"name": {"en_US": "Desk", "fr_FR": "Bureau"}, "tags": ["a", ["b", 2, true, null]], "price": 12.5, "active": true, "nothing": null}',
     '{"en_US": "Office chair", "fr_FR": "Chaise de bureau"}',
     ARRAY['a,b', 'say "hi"', NULL, 'NULL', '{x}', '', 'back\slash', E'tab\t', ' spaced '],
     '[0:2]={1,2,3}',
     '{{1,2},{NULL,4}}',
     '{{a,NULL},{"c d",e}}',
     (SELECT decode(string_agg(lpad(to_hex(i), 2, '0'), ''), 'hex') FROM generate_series(0, 255) AS i),
     to_tsvector('simple', 'the quick brown fox'),
     'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
     '192.168.1.10', '10.0.0.0/8', '08:00:2b:01:02:03', '192.168.1.10'),
    (2,
     '{"en_US": "Café \"Le Zinc\"", "de_DE": "Tab\there \\ back", "u": "\u00e9\ud83c\udf89"}',
     '{"en_US": "Café \"Le Zinc\"", "de_DE": "Tab\there \\ back", "nested": {"list": ["x", 1, false, null, {"deep": "y"}]}}',
     '{}',
     '{}',
     '{{{1,2}},{{3,NULL}}}',
     '{{"{}",","},{"\\","\""}}',
     '\x',
     to_tsvector('english', 'Les données sont très sensibles'),
     'b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12',
     '2001:db8:85a3::8a2e:370:7334/64', '2001:db8::/48', '08:00:2b:01:02:04', '::1'),
    (3, '[1, "two", [3, ["four"]], {"five": 5}]', 'null', '{NULL}', '{NULL,5}', NULL, NULL, '\x00', NULL,
     'c0eebc99-9c0b-4ef8-bb6d-6bb9bd380a13', '10.1.2.3/32', '192.168.0.0/24', NULL, '10.1.2.3/32'),
    (4, '"just a string"', '"a jsonb string"', ARRAY['only'], '{-1}', '{{1}}', '{{z}}', E'\\x5c4e', to_tsvector('simple', ''),
     NULL, NULL, NULL, NULL, NULL),
    (5, '42', '{}', NULL, NULL, NULL, NULL, NULL, NULL, 'd0eebc99-9c0b-4ef8-bb6d-6bb9bd380a14', '0.0.0.0', '0.0.0.0/0', '00:00:00:00:00:00', '0.0.0.0'),
    (6, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    (7, '{"a": "x", "a": "y", "n": 1e400, "m": -0.0e-5, "empty": ""}', '[[], {}, [[["deep"]]], ""]',
     ARRAY[NULL, NULL]::text[], ARRAY[NULL]::integer[], '{{NULL,NULL}}', '{{NULL}}', '\xffff', to_tsvector('simple', 'x'),
     'e0eebc99-9c0b-4ef8-bb6d-6bb9bd380a15', '255.255.255.255', '255.255.255.255/32', 'ff:ff:ff:ff:ff:ff', '255.255.255.255');

-- The values COPY text format has to escape, and one of 300 KB.
CREATE TABLE public.tricky_text (
    id integer PRIMARY KEY,
    label text NOT NULL,
    val text,
    kept text,
    tiny varchar(5)
);

INSERT INTO public.tricky_text (id, label, val, tiny) VALUES
    (1, 'tab', E'a\tb', E'\t'),
    (2, 'cr', E'a\rb', E'\r'),
    (3, 'lf', E'a\nb', E'\n'),
    (4, 'crlf', E'a\r\nb', E'\r\n'),
    (5, 'backslashes', E'a\\b\\\\c', '\\'),
    (6, 'quotes', 'it''s "quoted"', '''"'),
    (7, 'emoji', 'smile 😀 family 👨‍👩‍👧 flag 🇫🇷', '😀🎉'),
    (8, 'multibyte', 'Ωmega ñ 中文 日本語 한국어 עברית العربية', 'é中文'),
    (9, 'large', repeat(E'line\tof \\text ünï 🎉\r\n', 12000), 'large'),
    (10, 'empty', '', ''),
    (11, 'null', NULL, NULL),
    (12, 'backslash-N', '\N', '\N'),
    (13, 'end-marker', '\.', '\.'),
    (14, 'end-marker-line', E'before\n\\.\nafter', E'\n\\.\n'),
    (15, 'trailing-backslash', 'ends with \', 'x\'),
    (16, 'control', E'\x01\x02\x7f bell \007 bs \b ff \f vt \x0b', E'\x01\b\f'),
    (17, 'only-spaces', '   ', '     '),
    (18, 'invisible', E'zero\u200bwidth and BOM \ufeff', E'\ufeff'),
    (19, 'separators', 'a,b;c|d', ',;|'),
    (20, 'sql-ish', $$'); DROP TABLE customer; --$$, $$';--$$),
    (21, 'copy-header-ish', E'COPY public.customer (id) FROM stdin;\n1\n\\.', 'COPY');

UPDATE public.tricky_text SET kept = val;

-- No key at all: rows are keyed by position, and two rows are identical.
CREATE TABLE public.event_log (
    happened_at timestamptz,
    actor text,
    message text,
    search tsvector NOT NULL
);

INSERT INTO public.event_log VALUES
    ('2024-01-01 10:00:00+00', 'alice', 'logged in', to_tsvector('simple', 'logged in')),
    ('2024-01-01 10:05:00+00', 'bob', E'changed\temail', to_tsvector('simple', 'changed email')),
    ('2024-01-01 10:05:00+00', 'bob', E'changed\temail', to_tsvector('simple', 'changed email')),
    (NULL, NULL, NULL, to_tsvector('simple', '')),
    ('2024-01-02 00:00:00+00', 'carol', 'a\b', to_tsvector('simple', 'ab')),
    ('2024-01-03 00:00:00+00', '', '', to_tsvector('simple', 'empty'));

-- A composite key: placeholders carry both parts joined with '-'.
CREATE TABLE public.order_line (
    order_id integer,
    line_no integer,
    product text NOT NULL,
    customer_ref text,
    qty integer,
    PRIMARY KEY (order_id, line_no)
);

INSERT INTO public.order_line VALUES
    (100, 1, 'Chair', 'REF-A', 2),
    (100, 2, 'Desk', 'REF-A', 1),
    (101, 1, 'Lamp', NULL, 5),
    (-5, 10, 'Negative order', 'REF-NEG', 1),
    (102, 1, E'Tab\tproduct', E'ref\\slash', NULL);

-- A column dropped after rows were inserted, and one added afterwards with a
-- default (pg_dump names the live columns only).
CREATE TABLE public.legacy (
    id integer PRIMARY KEY,
    a text,
    dropme text,
    b text
);

INSERT INTO public.legacy VALUES
    (1, 'a1', 'gone1', 'b1'),
    (2, 'a2', 'gone2', NULL),
    (3, NULL, 'gone3', 'b3');

ALTER TABLE public.legacy DROP COLUMN dropme;
ALTER TABLE public.legacy ADD COLUMN c text DEFAULT 'added';
UPDATE public.legacy SET c = 'updated' WHERE id = 2;
INSERT INTO public.legacy (id, a, b, c) VALUES (4, 'a4', 'b4', NULL);

-- A ruled table without rows.
CREATE TABLE public.empty_table (
    id integer PRIMARY KEY,
    secret text
);

-- A partitioned table: partitions in three schemas, one of them partitioned again,
-- and a default partition. The rule is written for the parent only.
CREATE TABLE public.invoice (
    id integer NOT NULL,
    issued date NOT NULL,
    customer_name text,
    amount numeric(12,2),
    memo text,
    PRIMARY KEY (id, issued)
) PARTITION BY RANGE (issued);

CREATE TABLE public.invoice_2022 PARTITION OF public.invoice
    FOR VALUES FROM ('2022-01-01') TO ('2023-01-01');
CREATE TABLE "Sales Dept".invoice_2023 PARTITION OF public.invoice
    FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE archive.invoice_2024 PARTITION OF public.invoice
    FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')
    PARTITION BY RANGE (issued);
CREATE TABLE archive.invoice_2024_h1 PARTITION OF archive.invoice_2024
    FOR VALUES FROM ('2024-01-01') TO ('2024-07-01');
CREATE TABLE public."Invoice 2024 H2" PARTITION OF archive.invoice_2024
    FOR VALUES FROM ('2024-07-01') TO ('2025-01-01');
CREATE TABLE public.invoice_other PARTITION OF public.invoice DEFAULT;

INSERT INTO public.invoice
SELECT i,
       date '2021-11-01' + (i * 23),
       'Customer ' || i || CASE WHEN i % 5 = 0 THEN E'\t(tab)' ELSE '' END,
       i * 10.5,
       'memo ' || i
FROM generate_series(1, 60) AS i;

-- Unruled reference data: must come through untouched.
CREATE TABLE public.country (
    code char(2) PRIMARY KEY,
    name text NOT NULL
);

INSERT INTO public.country VALUES ('FR', 'France'), ('DE', 'Deutschland'), ('JP', '日本'), ('CI', 'Côte d''Ivoire');

-- Things that look like COPY blocks but are not: a function body and a comment.
CREATE FUNCTION public.looks_like_copy() RETURNS text LANGUAGE sql AS $body$
SELECT 'COPY public.customer (id, name) FROM stdin;
1	Not data
\.
'::text
$body$;

COMMENT ON TABLE public.customer IS 'Customers; see also
COPY public.customer (id) FROM stdin;
\.';

-- Objects whose definitions reference ruled tables, restored after the data.
CREATE VIEW "Sales Dept"."Client Emails" AS SELECT "ID", "E-mail" FROM "Sales Dept"."Client List";
CREATE MATERIALIZED VIEW public.customer_names AS SELECT id, name FROM public.customer;
CREATE INDEX customer_name_idx ON public.customer (name);
