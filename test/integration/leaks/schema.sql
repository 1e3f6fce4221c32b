-- A schema where masking only the e-mail column leaves copies of the e-mails behind:
-- in a notes column (twice in one row, once upper-cased) and inside a jsonb document.
-- leaks.test.ts expects exactly: person.notes 4 finds, person.profile 2 finds.
-- Near misses that must not count: another address in the jsonb, words of an address
-- spelled out ("eve at example dot org"), a nickname that is the start of an e-mail.

CREATE TABLE public.person (
    id integer PRIMARY KEY,
    email text,
    notes text,
    profile jsonb,
    nickname text
);

INSERT INTO public.person VALUES
    (1, 'alice.martin@example.org', 'prefers mail to alice.martin@example.org', '{"contact": {"email": "alice.martin@example.org"}, "tags": ["vip"]}', 'alice'),
    (2, 'bob.dupont@example.net', E'Bob wrote from BOB.DUPONT@EXAMPLE.NET\tand bob.dupont@example.net', '{"contact": {"email": "someone.else@example.com"}}', 'bob'),
    (3, 'chloe@example.com', E'line one\nline two', '{"history": ["chloe@example.com", "old@example.com"]}', 'chloe'),
    (4, NULL, NULL, NULL, NULL),
    (5, 'dan@x.io', 'dan@x.io', '{}', 'dan'),
    (6, 'eve@example.org', 'nothing to see', '{"note": "eve at example dot org"}', 'eve');

CREATE TABLE public.audit (
    id integer PRIMARY KEY,
    happened date,
    action text
);

INSERT INTO public.audit VALUES (1, '2024-01-01', 'login'), (2, '2024-01-02', 'export of the example report');
