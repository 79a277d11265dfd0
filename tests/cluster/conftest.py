"""Fixtures for the cluster tests."""

from __future__ import annotations

import pytest
from support import postgres


@pytest.fixture
def postgres_url(postgres_database: str) -> str:
    """A migrated PostgreSQL database of the test's own."""
    return postgres.url(postgres_database)
