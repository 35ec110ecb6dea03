"""Read queries for the dashboard. The only module the dashboard uses to reach the warehouse.

Each call opens a short-lived read-only connection (retrying while a flow holds the write lock)
and returns a DataFrame, so the dashboard caches results, never connections.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from livelihood_monitor import db


def _frame(warehouse: Path, query_file: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
    columns, rows = db.read_rows(warehouse, db.load_sql(f"queries/{query_file}"), params)
    return pd.DataFrame.from_records(rows, columns=columns)


def years(warehouse: Path) -> list[int]:
    return [int(y) for y in _frame(warehouse, "years.sql")["year"]]


def projects_overview(warehouse: Path, year: int) -> pd.DataFrame:
    return _frame(warehouse, "projects_overview.sql", {"year": year})
