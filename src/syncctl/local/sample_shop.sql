-- The sample shop of `syncctl demo --engine connect`, the engine's benchmarks and
-- `docker compose --profile connect up`: four related tables, 175,000 rows at scale 1.
-- `SET syncctl.scale = '0.1'` first makes it smaller (Python does; the compose file uses 1).
CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL, email text NOT NULL, city text);
CREATE TABLE products (id bigint PRIMARY KEY, title text NOT NULL, price numeric(10,2) NOT NULL);
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL, placed_at timestamptz NOT NULL, status text NOT NULL);
CREATE TABLE order_items (id bigint PRIMARY KEY, order_id bigint NOT NULL, product_id bigint NOT NULL, quantity int NOT NULL);

DO $$
DECLARE
    scale numeric := coalesce(nullif(current_setting('syncctl.scale', true), '')::numeric, 1);
    n_customers int := greatest(1, (20000 * scale)::int);
    n_products int := greatest(1, (5000 * scale)::int);
    n_orders int := greatest(1, (50000 * scale)::int);
    n_order_items int := greatest(1, (100000 * scale)::int);
BEGIN
    INSERT INTO customers SELECT n, 'Customer ' || n, 'customer' || n || '@example.com',
        (ARRAY['Lyon','Porto','Turku','Graz','Gent'])[1 + n % 5] FROM generate_series(1, n_customers) n;
    INSERT INTO products SELECT n, 'Product ' || n, round((1 + n % 500) * 1.25, 2) FROM generate_series(1, n_products) n;
    INSERT INTO orders SELECT n, 1 + n % n_customers, now() - n * interval '1 minute',
        (ARRAY['paid','shipped','delivered'])[1 + n % 3] FROM generate_series(1, n_orders) n;
    INSERT INTO order_items SELECT n, 1 + n % n_orders, 1 + n % n_products, 1 + n % 4 FROM generate_series(1, n_order_items) n;
END $$;
