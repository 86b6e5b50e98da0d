-- The demo shop: a small web shop's database, the kind of application Lethe sits beside.
-- Synthetic data comes from demo/seed.ts; the data map that describes it is demo/lethe.config.json.
-- Safe to run twice (IF NOT EXISTS everywhere); meant for an empty database, schema public.
--
-- Shapes worth noticing (each one exercises a rule of the erasure):
--   * addresses is shared: customers (households share one) and warehouses point at it, so an
--     address is erased only when nobody but the subject uses it;
--   * orders outlive their customer (customer_id is nullable and has no ON DELETE action: Lethe
--     sets it to NULL itself before it deletes the customer), kept for tax with billing fields masked;
--   * support_tickets name the customer by email, with no foreign key (a `via` link in the map).

CREATE TABLE IF NOT EXISTS public.addresses (
  id       serial PRIMARY KEY,
  line1    text NOT NULL,
  line2    text,
  city     text NOT NULL,
  postcode text NOT NULL,
  country  text NOT NULL
);

CREATE TABLE IF NOT EXISTS public.customers (
  id               serial PRIMARY KEY,
  email            text NOT NULL UNIQUE,
  full_name        text NOT NULL,
  phone            text,
  birth_date       date,
  address_id       integer REFERENCES public.addresses (id),
  marketing_opt_in boolean NOT NULL DEFAULT false,
  created_at       timestamptz NOT NULL DEFAULT now(),
  last_login_at    timestamptz
);

CREATE TABLE IF NOT EXISTS public.warehouses (
  id         serial PRIMARY KEY,
  name       text NOT NULL,
  address_id integer NOT NULL REFERENCES public.addresses (id)
);

CREATE TABLE IF NOT EXISTS public.orders (
  id              serial PRIMARY KEY,
  customer_id     integer REFERENCES public.customers (id),
  placed_at       timestamptz NOT NULL DEFAULT now(),
  total_cents     integer NOT NULL CHECK (total_cents >= 0),
  billing_name    text NOT NULL,
  billing_email   text NOT NULL,
  billing_address text NOT NULL,
  billing_ip      inet
);

CREATE TABLE IF NOT EXISTS public.order_items (
  id          serial PRIMARY KEY,
  order_id    integer NOT NULL REFERENCES public.orders (id),
  sku         text NOT NULL,
  quantity    integer NOT NULL CHECK (quantity > 0),
  price_cents integer NOT NULL CHECK (price_cents >= 0)
);

CREATE TABLE IF NOT EXISTS public.reviews (
  id          serial PRIMARY KEY,
  customer_id integer NOT NULL REFERENCES public.customers (id),
  product_sku text NOT NULL,
  rating      smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
  body        text,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS public.support_tickets (
  id             serial PRIMARY KEY,
  customer_email text NOT NULL,
  subject        text NOT NULL,
  body           text NOT NULL,
  opened_at      timestamptz NOT NULL DEFAULT now()
);

-- Every column erasure looks rows up by (foreign keys and the `via` column).
CREATE INDEX IF NOT EXISTS customers_address_id_idx ON public.customers (address_id);
CREATE INDEX IF NOT EXISTS warehouses_address_id_idx ON public.warehouses (address_id);
CREATE INDEX IF NOT EXISTS orders_customer_id_idx ON public.orders (customer_id);
CREATE INDEX IF NOT EXISTS order_items_order_id_idx ON public.order_items (order_id);
CREATE INDEX IF NOT EXISTS reviews_customer_id_idx ON public.reviews (customer_id);
CREATE INDEX IF NOT EXISTS support_tickets_customer_email_idx ON public.support_tickets (customer_email);
