"""Fixtures of the migration layer's tests."""

from __future__ import annotations

import pytest
from airflow.sdk import ObjectStoragePath


@pytest.fixture
def base(tmp_path) -> ObjectStoragePath:
    """A ledger base of the test's own."""
    return ObjectStoragePath(f"file://{tmp_path}/ledger")
