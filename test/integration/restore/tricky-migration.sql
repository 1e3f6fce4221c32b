-- A vendor's "upgrade" of the tricky schema (../tricky/schema.sql), run on the database
-- restored from the masked dump, and, to know what to expect, on a copy of the original.
-- restore-db.test.ts then puts the originals back into the first and compares it with the
-- second: restored values equal the originals, edited ones are kept, deleted rows stay
-- deleted, new rows are untouched. tricky-map.yaml tells pgcloak what was renamed.

SET client_min_messages = warning;

-- A table and columns renamed.
ALTER TABLE public.tricky_text RENAME TO odd_text;
ALTER TABLE public.odd_text RENAME COLUMN val TO value_text;
ALTER TABLE "Sales Dept"."Client List" RENAME COLUMN "E-mail" TO email_address;

-- Compatible type changes: wider varchars, a wider numeric (on a partitioned table), and
-- text turned into a jsonb translation object (the map says how: using:).
ALTER TABLE public.customer ALTER COLUMN nick TYPE varchar(50);
ALTER TABLE "Sales Dept"."Client List" ALTER COLUMN "Full Name" TYPE varchar(120);
ALTER TABLE public.invoice ALTER COLUMN amount TYPE numeric(16,2);
ALTER TABLE "Sales Dept"."odd.name" ALTER COLUMN "say ""hi""" TYPE jsonb USING jsonb_build_object('en_US', "say ""hi""");

-- A new column.
ALTER TABLE public.customer ADD COLUMN loyalty integer NOT NULL DEFAULT 0;

-- Rows deleted.
DELETE FROM public.customer WHERE id IN (2, 99);
DELETE FROM public.invoice WHERE id % 7 = 0;
DELETE FROM public.odd_text WHERE id = 9;

-- Rows added.
INSERT INTO public.customer (id, name, nick, code, email, login, "prénom", "user", "order", mood, notes, loyalty)
    VALUES (500, 'New Customer', 'newbie', 'NEW', 'new@example.com', 'newbie', 'Neu', 'new', 5, 'ok', 'added by the vendor', 3);
INSERT INTO public.odd_text (id, label, value_text, tiny) VALUES (100, 'vendor', 'added after the upgrade', 'v');
INSERT INTO "Sales Dept"."odd.name" VALUES (3, '{"en_US": "third"}', 'three');
INSERT INTO public.invoice VALUES (1000, '2022-06-01', 'New invoice', 99.99, 'vendor');

-- Masked values edited by hand (they must be kept, and reported), and an unmasked one.
UPDATE public.customer SET name = 'Edited By Vendor' WHERE id = 3;
UPDATE public.odd_text SET value_text = 'vendor fixed this' WHERE id = 5;
UPDATE public.measurement SET price = 42 WHERE id = 1;
UPDATE public.customer SET loyalty = 7 WHERE id = 1;
