"""A sample shop database for `syncctl demo --engine connect` and the engine's benchmarks: four
related tables, 175,000 rows at scale 1, and a trickle of orders, updates and deletes to watch
in CDC."""

from __future__ import annotations

import random
import secrets
import threading
from dataclasses import dataclass

import psycopg
from psycopg import sql

from syncctl.servers.postgres import LocalPostgres

SHOP_TABLES = ("public.customers", "public.products", "public.orders", "public.order_items")
# Rows per table at scale 1.
_ROWS = {"customers": 20_000, "products": 5_000, "orders": 50_000, "order_items": 100_000}

_SCHEMA = (
    "CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL, email text NOT NULL, city text)",
    "CREATE TABLE products (id bigint PRIMARY KEY, title text NOT NULL, price numeric(10,2) NOT NULL)",
    ("CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL, placed_at timestamptz NOT NULL, "
    "status text NOT NULL)"),
    ("CREATE TABLE order_items (id bigint PRIMARY KEY, order_id bigint NOT NULL, product_id bigint NOT NULL, "
    "quantity int NOT NULL)"),
)
# Integers only in the placeholders: formatted in, no parameters (so % is SQL's modulo).
_FILL = {
    "customers": "INSERT INTO customers SELECT n, 'Customer ' || n, 'customer' || n || '@example.com', "
    "(ARRAY['Lyon','Porto','Turku','Graz','Gent'])[1 + n % 5] FROM generate_series(1, {customers}) n",
    "products": "INSERT INTO products SELECT n, 'Product ' || n, round((1 + n % 500) * 1.25, 2) "
    "FROM generate_series(1, {products}) n",
    "orders": "INSERT INTO orders SELECT n, 1 + n % {customers}, now() - n * interval '1 minute', "
    "(ARRAY['paid','shipped','delivered'])[1 + n % 3] FROM generate_series(1, {orders}) n",
    "order_items": "INSERT INTO order_items SELECT n, 1 + n % {orders}, 1 + n % {products}, 1 + n % 4 "
    "FROM generate_series(1, {order_items}) n",
}


@dataclass(frozen=True)
class SampleShop:
    """Where the sample database is, and the user the engine connects as."""

    host: str
    port: int
    database: str
    user: str
    password: str
    rows: int

    def dsn(self) -> str:
        return psycopg.conninfo.make_conninfo(
            host=self.host, port=self.port, dbname=self.database, user=self.user, password=self.password
        )


def create_sample_shop(postgres: LocalPostgres, scale: float = 1.0, database: str = "shop") -> SampleShop:
    """Create the `shop` database, owned by a replication user `syncctl` with a fresh password."""
    password = secrets.token_urlsafe(16)
    with psycopg.connect(postgres.dsn(), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE syncctl WITH LOGIN REPLICATION PASSWORD {}").format(sql.Literal(password)))
        admin.execute(sql.SQL("CREATE DATABASE {} OWNER syncctl").format(sql.Identifier(database)))
    shop = SampleShop("127.0.0.1", postgres.port, database, "syncctl", password, rows=0)
    counts = {table: max(1, int(rows * scale)) for table, rows in _ROWS.items()}
    with psycopg.connect(shop.dsn(), autocommit=True) as db:
        for statement in _SCHEMA:
            db.execute(statement)
        for query in _FILL.values():
            db.execute(query.format(**counts))
    return SampleShop(shop.host, shop.port, database, shop.user, password, rows=sum(counts.values()))


class ShopTraffic:
    """Customers placing, changing and cancelling orders: `rate` changes a second on the source."""

    def __init__(self, shop: SampleShop, rate: float = 20.0, seed: int | None = None) -> None:
        self._shop = shop
        self._interval = 1.0 / rate
        self._random = random.Random(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="shop-traffic", daemon=True)
        self.changes = 0

    def start(self) -> ShopTraffic:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        with psycopg.connect(self._shop.dsn(), autocommit=True) as db:
            next_order = db.execute("SELECT coalesce(max(id), 0) + 1 FROM orders").fetchone()[0]  # type: ignore[index]
            while not self._stop.wait(self._interval):
                roll = self._random.random()
                if roll < 0.5:
                    customer = self._random.randint(1, 1000)
                    db.execute("INSERT INTO orders VALUES (%s, %s, now(), 'paid')", (next_order, customer))
                    next_order += 1
                elif roll < 0.9:
                    db.execute("UPDATE orders SET status = 'shipped' WHERE id = %s", (self._random.randint(1, next_order),))
                else:
                    db.execute("DELETE FROM orders WHERE id = %s", (self._random.randint(1, next_order),))
                self.changes += 1
