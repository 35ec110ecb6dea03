"""总览: the year's projects by category, coloured by their latest status."""

from __future__ import annotations

import html

import pandas as pd
import streamlit as st
from common import (
    STATUS_COLOURS,
    STATUS_LABELS,
    projects_overview,
    require_warehouse,
    status_badge,
    years,
)

st.title("民生实事项目总览")

warehouse = require_warehouse()
if warehouse is None:
    st.stop()
assert warehouse is not None

available = years(warehouse)
if not available:
    st.info(
        "数据仓库中还没有项目清单。请运行 `livelihood-monitor registry import 清单文件 --year 年份`。"
    )
    st.stop()

year = st.sidebar.selectbox("年度", available, index=0)
frame = projects_overview(warehouse, year)

categories = sorted(frame["category"].unique())
units = sorted(frame["unit"].unique())
chosen_categories = st.sidebar.multiselect("类别", categories, placeholder="全部类别")
chosen_units = st.sidebar.multiselect("牵头单位", units, placeholder="全部单位")
shown = frame
if chosen_categories:
    shown = shown[shown["category"].isin(chosen_categories)]
if chosen_units:
    shown = shown[shown["unit"].isin(chosen_units)]

cols = st.columns(4)
cols[0].metric("项目数", len(shown))
cols[1].metric("类别", shown["category"].nunique())
cols[2].metric("牵头单位", shown["unit"].nunique())
assessed = shown["status"].notna().sum()
cols[3].metric("已评估进度", f"{assessed} / {len(shown)}")

legend = " ".join(status_badge(s) for s in STATUS_COLOURS)
st.markdown(f"状态图例：{legend}", unsafe_allow_html=True)


def _card(row: pd.Series) -> str:
    status = row["status"] if isinstance(row["status"], str) else None
    colour = STATUS_COLOURS.get(status, STATUS_COLOURS[None])
    label = STATUS_LABELS.get(status, STATUS_LABELS[None])
    return (
        f'<div style="border-left:6px solid {colour};background:#fafafa;padding:6px 8px;'
        f'margin:4px 0;border-radius:4px" title="{html.escape(str(row["target"]))}">'
        f"<b>{html.escape(row['code'])}</b> {html.escape(row['name'])}<br>"
        f"<small>{html.escape(row['unit'])} · {html.escape(label)}</small></div>"
    )


for category, group in shown.groupby("category", sort=True):
    st.subheader(f"{category}（{len(group)} 项）")
    grid = st.columns(3)
    for i, (_, row) in enumerate(group.iterrows()):
        grid[i % 3].markdown(_card(row), unsafe_allow_html=True)

st.subheader("项目清单")
table = shown.assign(状态=shown["status"].map(lambda s: STATUS_LABELS.get(s, STATUS_LABELS[None])))
st.dataframe(
    table[["code", "category", "name", "unit", "target", "状态"]].rename(
        columns={
            "code": "编号",
            "category": "类别",
            "name": "项目名称",
            "unit": "牵头单位",
            "target": "目标任务",
        }
    ),
    hide_index=True,
    width="stretch",
)
