from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from livelihood_monitor.db import Connection, memory_warehouse

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LM_SHARED_DIR", REPO.parent / "shared"))
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"共享数据目录 {SHARED} 不存在：跳过依赖 ../shared 的测试")
    return SHARED


@pytest.fixture
def con() -> Iterator[Connection]:
    """An in-memory warehouse with all migrations: fast, isolated."""
    connection = memory_warehouse()
    yield connection
    connection.close()


@pytest.fixture
def warehouse_file(tmp_path: Path) -> Path:
    return tmp_path / "wh" / "livelihood.duckdb"
