"""Create the demo product's two schemas and data for a demo listener (idempotent).

    python examples/product_service/seed.py --dsn postgresql://... [--email demo@example.org]

Schema `product`: the track-listening product (listeners, search and play history, purchases),
reached by the portal's HTTP connector through service.py. Schema `support`: the support desk's
tickets, reached by the portal's database connector with support_mapping.yaml.
"""

from __future__ import annotations

import argparse
import datetime

import psycopg

SCHEMA = """
CREATE SCHEMA IF NOT EXISTS product;
CREATE TABLE IF NOT EXISTS product.listeners (
    id serial PRIMARY KEY,
    email text UNIQUE,
    phone text,
    display_name text,
    country text,
    marketing_allowed boolean NOT NULL DEFAULT true,
    processing_restricted boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS product.searches (
    id serial PRIMARY KEY,
    listener_id integer NOT NULL REFERENCES product.listeners(id),
    query text NOT NULL,
    searched_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS product.plays (
    id serial PRIMARY KEY,
    listener_id integer NOT NULL REFERENCES product.listeners(id),
    track_title text NOT NULL,
    artist text NOT NULL,
    device text,
    played_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS product.purchases (
    id serial PRIMARY KEY,
    listener_id integer REFERENCES product.listeners(id),
    item text NOT NULL,
    amount_cents integer NOT NULL,
    currency text NOT NULL,
    card_last4 text,
    purchased_at timestamptz NOT NULL DEFAULT now()
);
-- The connector protocol's bookkeeping: each job once, each signed message once.
CREATE TABLE IF NOT EXISTS product.connector_jobs (
    job_id uuid PRIMARY KEY,
    type text NOT NULL,
    request_id text NOT NULL,
    status text NOT NULL,
    result jsonb,
    callback_url text,
    received_at timestamptz NOT NULL DEFAULT now(),
    done_at timestamptz,
    callback_delivered_at timestamptz,
    times_received integer NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS product.seen_signatures (
    signature text PRIMARY KEY,
    seen_at timestamptz NOT NULL DEFAULT now()
);

CREATE SCHEMA IF NOT EXISTS support;
CREATE TABLE IF NOT EXISTS support.tickets (
    id serial PRIMARY KEY,
    customer_email text NOT NULL,
    subject text NOT NULL,
    body text NOT NULL,
    status text NOT NULL DEFAULT 'open',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS support.ticket_messages (
    id serial PRIMARY KEY,
    ticket_id integer NOT NULL REFERENCES support.tickets(id),
    author text NOT NULL,
    body text NOT NULL,
    sent_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS support.satisfaction_surveys (
    id serial PRIMARY KEY,
    ticket_id integer NOT NULL REFERENCES support.tickets(id),
    score integer NOT NULL,
    comment text,
    respondent_ip text,
    answered_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS support.refunds (
    id serial PRIMARY KEY,
    customer_email text NOT NULL,
    amount_cents integer NOT NULL,
    refunded_at timestamptz NOT NULL DEFAULT now()
);
"""

DEMO_EMAIL = "demo@example.com"  # the demo user `make run` creates


def create_schema(conn: psycopg.Connection) -> None:
    conn.execute(SCHEMA)


def seed_listener(conn: psycopg.Connection, email: str, *, name: str = "Demo Listener") -> int:
    """A listener with search and play history, purchases and a support ticket; returns its id.
    Seeding the same e-mail again changes nothing."""
    row = conn.execute("SELECT id FROM product.listeners WHERE email = %s", (email,)).fetchone()
    if row is not None:
        return int(row[0])
    listener_id = conn.execute(
        "INSERT INTO product.listeners (email, phone, display_name, country) "
        "VALUES (%s, %s, %s, %s) RETURNING id",
        (email, "+33 6 12 34 56 78", name, "FR"),
    ).fetchone()[0]  # type: ignore[index]
    start = datetime.datetime(2026, 3, 1, 20, 0, tzinfo=datetime.UTC)
    for i, query in enumerate(["lo-fi beats", "jazz piano", "rain sounds"]):
        conn.execute(
            "INSERT INTO product.searches (listener_id, query, searched_at) VALUES (%s, %s, %s)",
            (listener_id, query, start + datetime.timedelta(hours=i)),
        )
    for i, (title, artist) in enumerate(
        [
            ("Blue in Green", "Miles Davis"),
            ("Gymnopédie No.1", "Erik Satie"),
            ("Teardrop", "Massive Attack"),
            ("Clair de lune", "Debussy"),
        ]
    ):
        conn.execute(
            "INSERT INTO product.plays (listener_id, track_title, artist, device, played_at) "
            "VALUES (%s, %s, %s, %s, %s)",
            (listener_id, title, artist, "phone", start + datetime.timedelta(days=i)),
        )
    for item, cents in (("Premium, 1 month", 999), ("Album: Kind of Blue", 1299)):
        conn.execute(
            "INSERT INTO product.purchases (listener_id, item, amount_cents, currency, card_last4) "
            "VALUES (%s, %s, %s, 'EUR', '4242')",
            (listener_id, item, cents),
        )
    ticket_id = conn.execute(
        "INSERT INTO support.tickets (customer_email, subject, body) VALUES (%s, %s, %s) "
        "RETURNING id",
        (email, "Playback stops", "My playlist stops after two tracks."),
    ).fetchone()[0]  # type: ignore[index]
    conn.execute(
        "INSERT INTO support.ticket_messages (ticket_id, author, body) VALUES (%s, %s, %s), "
        "(%s, %s, %s)",
        (ticket_id, "customer", "It happens on my phone.", ticket_id, "agent", "Fixed in 4.2."),
    )
    conn.execute(
        "INSERT INTO support.satisfaction_surveys (ticket_id, score, comment, respondent_ip) "
        "VALUES (%s, 5, 'Quick answer, thanks', '198.51.100.7')",
        (ticket_id,),
    )
    conn.execute(
        "INSERT INTO support.refunds (customer_email, amount_cents) VALUES (%s, 999)", (email,)
    )
    return int(listener_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", required=True, help="PostgreSQL DSN of the demo database")
    parser.add_argument("--email", default=DEMO_EMAIL, help="the demo listener's e-mail")
    args = parser.parse_args()
    with psycopg.connect(args.dsn) as conn:
        create_schema(conn)
        listener_id = seed_listener(conn, args.email)
    print(f"seeded listener #{listener_id}")


if __name__ == "__main__":
    main()
