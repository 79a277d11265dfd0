"""Fixtures for the cluster tests."""

from __future__ import annotations

import os
import secrets

import pytest

SERVER = "postgresql://postgres@127.0.0.1:5432"


@pytest.fixture
async def postgres_url():
    """An empty database of the test's own on this machine's PostgreSQL, dropped afterwards."""
    asyncpg = pytest.importorskip("asyncpg")
    name = f"feedserver_test_cluster_{os.getpid()}_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(f"{SERVER}/postgres", timeout=10)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"{SERVER}/{name}"
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
