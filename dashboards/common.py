"""What every page shares: settings, cached query results, status colours.

Results are cached for a short time; connections never are (an open one blocks the flows).
"""

from __future__ import annotations

import html

import pandas as pd
import streamlit as st

from livelihood_monitor import queries
from livelihood_monitor.config import load_settings

CACHE_TTL_S = 30

STATUS_LABELS = {
    "completed": "已完成",
    "ahead": "超时序",
    "on_track": "符合时序",
    "behind": "滞后",
    "seriously_behind": "严重滞后",
    "missing": "未填报",
    None: "暂无评估",
}
STATUS_COLOURS = {
    "completed": "#1b7f3b",
    "ahead": "#2e9e5b",
    "on_track": "#7cc47f",
    "behind": "#f0a202",
    "seriously_behind": "#d62828",
    "missing": "#8d99ae",
    None: "#d9d9d9",
}


def warehouse_path() -> str:
    return str(load_settings().warehouse)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def years(warehouse: str) -> list[int]:
    from pathlib import Path

    return queries.years(Path(warehouse))


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def projects_overview(warehouse: str, year: int) -> pd.DataFrame:
    from pathlib import Path

    return queries.projects_overview(Path(warehouse), year)


def status_badge(status: str | None) -> str:
    key = status if status in STATUS_COLOURS else None
    return (
        f'<span style="background:{STATUS_COLOURS[key]};color:white;border-radius:4px;'
        f'padding:1px 6px;font-size:0.8em">{html.escape(STATUS_LABELS[key])}</span>'
    )


def require_warehouse() -> str | None:
    """The warehouse path, or None after telling the user what to do when it is missing."""
    from pathlib import Path

    path = warehouse_path()
    if not Path(path).exists():
        st.warning(
            f"还没有数据仓库（{path}）。请在项目目录运行 `make demo`，"
            "或先运行 `livelihood-monitor init` 并导入项目清单。"
        )
        return None
    return path
