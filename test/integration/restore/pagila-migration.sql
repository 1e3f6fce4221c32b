-- A vendor's "upgrade" of pagila (fixtures/corpus/pagila), run on the database restored
-- from the masked dump and, to know what to expect, on a copy of the original one.
-- pagila-map.yaml tells pgcloak what was renamed.

SET client_min_messages = warning;
-- pagila's last_updated triggers would stamp the edited rows with now(), which differs
-- between the two copies; the vendor's edits here must be the same in both.
SET session_replication_role = replica;

ALTER TABLE public.customer RENAME TO client;
ALTER TABLE public.client RENAME COLUMN email TO email_address;
ALTER TABLE public.staff ALTER COLUMN username TYPE varchar(64);
ALTER TABLE public.address ALTER COLUMN address2 TYPE varchar(100);
ALTER TABLE public.staff ADD COLUMN nickname text;

DELETE FROM public.payment WHERE payment_id % 97 = 0;

INSERT INTO public.address (address_id, address, address2, district, city_id, postal_code, phone, last_update)
    VALUES (9001, '1 New Street', NULL, 'Vendor', 1, '99999', '555-0100', '2024-01-01 00:00:00+00');

UPDATE public.client SET last_name = 'VENDOR-EDIT' WHERE customer_id IN (1, 2);
UPDATE public.address SET phone = '000' WHERE address_id = 5;
UPDATE public.staff SET nickname = 'boss' WHERE staff_id = 1;
