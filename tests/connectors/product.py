"""The example product service on loopback, and its own throwaway database, for integration
tests: a real process speaking the connector protocol, on the test PostgreSQL server."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import requests
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "product_service"
SERVICE = EXAMPLE / "service.py"


def example_module(name: str):  # type: ignore[no-untyped-def]
    """One of the example's scripts, loaded from its file: the example is a separate service,
    not a package of the portal."""
    spec = importlib.util.spec_from_file_location(f"product_service_{name}", EXAMPLE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


seed = example_module("seed")


def server_dsn(database: str) -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgresql://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{database}"


@contextlib.contextmanager
def product_database() -> Iterator[str]:
    """A fresh database with the product's and the support desk's schemas; yields its DSN."""
    name = f"product_{secrets.token_hex(4)}"
    with psycopg.connect(server_dsn("postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    dsn = server_dsn(name)
    try:
        with psycopg.connect(dsn) as conn:
            seed.create_schema(conn)
        yield dsn
    finally:
        with psycopg.connect(server_dsn("postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def query(dsn: str, sql: str, *params: object) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]


class ProductService:
    """`examples/product_service/service.py` as a real process on 127.0.0.1:`port`."""

    def __init__(self, dsn: str, port: int, keys: dict[str, str], *options: str) -> None:
        self.url = f"http://127.0.0.1:{port}/"
        env = {
            **os.environ,
            "PRODUCT_SERVICE_KEYS": ",".join(f"{k}={v}" for k, v in keys.items()),
            "PYTHONUNBUFFERED": "1",
        }
        self.log = open(ROOT / "var" / f"test-product-service-{port}.log", "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, str(SERVICE), "--dsn", dsn, "--port", str(port), *options],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(self.url + "healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the product service did not start: see {self.log.name}")
            time.sleep(0.1)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def wait_for(condition, timeout: float = 60.0, interval: float = 0.1):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {condition.__name__}")
        time.sleep(interval)
    return result
