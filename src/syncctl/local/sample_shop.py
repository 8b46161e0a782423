"""A sample shop database for `syncctl demo --engine connect` and the engine's benchmarks: four
related tables, 175,000 rows at scale 1 (sample_shop.sql), and a trickle of orders, updates and
deletes to watch in CDC."""

from __future__ import annotations

import dataclasses
import random
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from syncctl.local.postgres import LocalPostgres

SHOP_TABLES = ("public.customers", "public.products", "public.orders", "public.order_items")
# The schema and the rows, shared with docker-compose.yml (mounted into PostgreSQL's init dir).
SHOP_SQL = Path(__file__).with_name("sample_shop.sql")


@dataclass(frozen=True)
class SampleShop:
    """Where the sample database is, and the user the engine connects as."""

    host: str
    port: int
    database: str
    user: str
    password: str
    rows: int = 0

    def dsn(self) -> str:
        return psycopg.conninfo.make_conninfo(
            host=self.host,
            port=self.port,
            dbname=self.database,
            user=self.user,
            password=self.password,
        )


def create_sample_shop(
    postgres: LocalPostgres, scale: float = 1.0, database: str = "shop"
) -> SampleShop:
    """Create the `shop` database, owned by a replication user `syncctl` with a fresh password."""
    password = secrets.token_urlsafe(16)
    with psycopg.connect(postgres.dsn(), autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE ROLE syncctl WITH LOGIN REPLICATION PASSWORD {}").format(
                sql.Literal(password)
            )
        )
        admin.execute(sql.SQL("CREATE DATABASE {} OWNER syncctl").format(sql.Identifier(database)))
    shop = SampleShop("127.0.0.1", postgres.port, database, "syncctl", password)
    with psycopg.connect(shop.dsn(), autocommit=True) as db:
        db.execute(sql.SQL("SET syncctl.scale = {}").format(sql.Literal(str(scale))))
        db.execute(SHOP_SQL.read_text())
        rows = db.execute(
            "SELECT (SELECT count(*) FROM customers) + (SELECT count(*) FROM products)"
            " + (SELECT count(*) FROM orders) + (SELECT count(*) FROM order_items)"
        ).fetchone()
    return dataclasses.replace(shop, rows=int(rows[0]) if rows else 0)


class ShopTraffic:
    """Customers placing, changing and cancelling orders: `rate` changes a second on the source."""

    def __init__(self, shop: SampleShop, rate: float = 20.0, seed: int | None = None) -> None:
        self._shop = shop
        self._interval = 1.0 / rate
        self._random = random.Random(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="shop-traffic", daemon=True)

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
                    db.execute(
                        "INSERT INTO orders VALUES (%s, %s, now(), 'paid')", (next_order, customer)
                    )
                    next_order += 1
                elif roll < 0.9:
                    db.execute(
                        "UPDATE orders SET status = 'shipped' WHERE id = %s",
                        (self._random.randint(1, next_order),),
                    )
                else:
                    db.execute(
                        "DELETE FROM orders WHERE id = %s", (self._random.randint(1, next_order),)
                    )
