"""Fixtures for the cluster tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support import postgres


@pytest.fixture
def postgres_url(postgres_template: str) -> Iterator[str]:
    """A migrated PostgreSQL database of the test's own, dropped afterwards."""
    name = postgres.create_database(postgres_template)
    yield postgres.url(name)
    postgres.drop_database(name)
