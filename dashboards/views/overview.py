"""总览: the year's projects by category, coloured by their status at a checkpoint and date."""

from __future__ import annotations

import html
from collections import Counter
from datetime import date, timedelta

import pandas as pd
import streamlit as st
from common import (
    CHECKPOINT_LABELS,
    STATUS_COLOURS,
    STATUS_LABELS,
    colour_bar,
    fmt_pct,
    overview_page,
    page_context,
    settings,
    status_badge,
    status_dates,
    truthy,
)

from livelihood_monitor import status as engine

QUESTIONS = {"start": "问计划", "mid": "问进度", "end": "问结果"}

st.title("民生实事项目总览")
warehouse, year = page_context()


def checkpoint_ranges(year: int) -> dict[str, tuple[date, date]]:
    """First and last day of 年初/年中/年末 for ``year``, from the configured boundaries."""
    try:
        _, config = engine.status_config(settings())
    except ValueError:
        config = engine.CheckpointConfig()
    mid = date(year, *config.mid_from)
    end = date(year, *config.end_from)
    return {
        "start": (date(year, 1, 1), mid - timedelta(days=1)),
        "mid": (mid, end - timedelta(days=1)),
        "end": (end, date(year, 12, 31)),
    }


ranges = checkpoint_ranges(year)
stored = status_dates(warehouse, year)
stored_days: list[date] = list(stored["as_of"]) if not stored.empty else []
if stored_days:
    # The year-end review of a year's list may be run in January of the next year.
    ranges["start"] = (min(ranges["start"][0], stored_days[0]), ranges["start"][1])
    ranges["end"] = (ranges["end"][0], max(ranges["end"][1], stored_days[-1]))
today = date.today()
if stored_days:
    opening = next(k for k, (lo, hi) in ranges.items() if lo <= stored_days[-1] <= hi)
else:
    opening = engine.checkpoint_for(min(max(today, ranges["start"][0]), ranges["end"][1]))

checkpoint = st.sidebar.radio(
    "检查点",
    list(ranges),
    index=list(ranges).index(opening),
    format_func=lambda c: f"{CHECKPOINT_LABELS[c]}（{QUESTIONS[c]}）",
    key=f"checkpoint_{year}",
)
lo, hi = ranges[checkpoint]
in_range = [d for d in stored_days if lo <= d <= hi]
default_day = in_range[-1] if in_range else min(max(today, lo), hi)
as_of = st.sidebar.date_input(
    "评估日期",
    value=default_day,
    min_value=lo,
    max_value=hi,
    key=f"as_of_{year}_{checkpoint}",
    help="显示该日的进度评估；该日没有评估时，显示此前最近一次评估。",
)
assert isinstance(as_of, date)


def _key(status: object) -> str | None:
    return status if isinstance(status, str) else None


frame = overview_page(warehouse, year, as_of)
categories = sorted(frame["category"].unique())
units = sorted(frame["unit"].unique())
chosen_categories = st.sidebar.multiselect("类别", categories, placeholder="全部类别")
chosen_units = st.sidebar.multiselect("牵头单位", units, placeholder="全部单位")
status_keys = [s for s in STATUS_LABELS if s is not None] + [None]
chosen_status = st.sidebar.multiselect(
    "状态", status_keys, format_func=lambda s: STATUS_LABELS[s], placeholder="全部状态"
)
shown = frame
if chosen_categories:
    shown = shown[shown["category"].isin(chosen_categories)]
if chosen_units:
    shown = shown[shown["unit"].isin(chosen_units)]
if chosen_status:
    shown = shown[shown["status"].map(lambda s: _key(s) in chosen_status)]

used = frame["as_of"].dropna()
if used.empty:
    st.info(
        f"{as_of.isoformat()} 及以前还没有进度评估。请运行 "
        f"`livelihood-monitor status --as-of {as_of.isoformat()}` 生成评估，"
        "并确认已导入各单位的进度填报。"
    )
else:
    latest_used = max(used)
    label = CHECKPOINT_LABELS.get(
        str(frame.loc[frame["as_of"] == latest_used, "checkpoint"].iloc[0]), ""
    )
    note = "" if latest_used == as_of else "（所选日期没有评估，显示此前最近一次）"
    st.caption(f"评估日期：{latest_used.isoformat()}（{label}）{note}")

cols = st.columns(4)
cols[0].metric("项目数", len(shown))
cols[1].metric("类别", shown["category"].nunique())
cols[2].metric("牵头单位", shown["unit"].nunique())
assessed = shown["status"].notna().sum()
cols[3].metric("已评估进度", f"{assessed} / {len(shown)}")

# Counts per status, each under a strip of its colour.
counts = Counter(_key(s) for s in shown["status"])
status_cols = st.columns(len(STATUS_LABELS))
for col, key in zip(status_cols, STATUS_LABELS, strict=True):
    n = counts.get(key, 0)
    col.markdown(colour_bar(STATUS_COLOURS[key]), unsafe_allow_html=True)
    col.metric(STATUS_LABELS[key], n)

conflicts = shown[shown["conflict"].map(truthy)]
if not conflicts.empty:
    names = "、".join(f"{c} {n}" for c, n in zip(conflicts["code"], conflicts["name"], strict=True))
    st.warning(f"填报与民意不符（单位填报进度高，群众近期反映未开工、停工或质量差）：{names}")

# 年初问计划 / 年末问结果: what the status engine stored beside each status.
if not used.empty and checkpoint == "start":
    gaps = shown[shown["plan_missing"].map(lambda v: isinstance(v, str) and v != "")]
    if gaps.empty:
        st.success("年初问计划：各项目目标、责任单位和进度计划齐全。")
    else:
        items = sorted({i for v in gaps["plan_missing"] for i in str(v).split(",") if i})
        missing = "、".join(engine.plan_item_labels(items))
        codes = "、".join(list(gaps["code"])[:12]) + (" 等" if len(gaps) > 12 else "")
        st.info(f"年初问计划：{len(gaps)} 个项目计划不完整（缺少{missing}）：{codes}")
if not used.empty and checkpoint == "end":
    met = int(shown["target_met"].map(lambda v: v is True or v == 1).sum())
    unmet = shown[shown["target_met"].map(lambda v: v is False or v == 0)]
    unknown = len(shown) - met - len(unmet)
    names = "、".join(f"{c} {n}" for c, n in zip(unmet["code"], unmet["name"], strict=True))
    st.info(
        f"年末问结果：达到目标值 {met} 个，未达到 {len(unmet)} 个，无法判断 {unknown} 个"
        f"（缺目标值或完成量）。" + (f"未达到：{names}" if names else "")
    )

legend = " ".join(status_badge(s) for s in STATUS_COLOURS)
st.markdown(f"状态图例：{legend}", unsafe_allow_html=True)


def _card(row: pd.Series) -> str:
    status = row["status"] if isinstance(row["status"], str) else None
    colour = STATUS_COLOURS.get(status, STATUS_COLOURS[None])
    label = STATUS_LABELS.get(status, STATUS_LABELS[None])
    figures = ""
    if status is not None:
        figures = f" · 填报 {fmt_pct(row['reported_pct'])} / 时序 {fmt_pct(row['expected_pct'])}"
    flag = " ⚠️" if truthy(row["conflict"]) else ""
    return (
        f'<div style="border-left:6px solid {colour};background:#fafafa;padding:6px 8px;'
        f'margin:4px 0;border-radius:4px" title="{html.escape(str(row["target"]))}">'
        f"<b>{html.escape(row['code'])}</b> {html.escape(row['name'])}{flag}<br>"
        f"<small>{html.escape(row['unit'])} · "
        f'<span style="color:{colour};font-weight:600">{html.escape(label)}</span>'
        f"{html.escape(figures)}</small></div>"
    )


for category, group in shown.groupby("category", sort=True):
    st.subheader(f"{category}（{len(group)} 项）")
    grid = st.columns(3)
    for i, (_, row) in enumerate(group.iterrows()):
        grid[i % 3].markdown(_card(row), unsafe_allow_html=True)

st.subheader("项目清单")
if shown.empty:
    st.info("没有符合筛选条件的项目：请在左侧放宽类别、牵头单位或状态筛选。")
else:
    table = pd.DataFrame(
        {
            "编号": shown["code"],
            "类别": shown["category"],
            "项目名称": shown["name"],
            "牵头单位": shown["unit"],
            "目标任务": shown["target"],
            "时序进度": shown["expected_pct"],
            "填报进度": shown["reported_pct"],
            "差距": shown["gap_pct"],
            "状态": shown["status"].map(lambda s: STATUS_LABELS.get(s, STATUS_LABELS[None])),
            "近30天意见": shown["feedback_30d"],
            "填报与民意不符": shown["conflict"].map(lambda c: "是" if truthy(c) else ""),
        }
    )
    rated = bool(frame["satisfaction"].notna().any())  # any ratings this year, shown or not
    if rated:
        table["满意度"] = shown["satisfaction"]

    def _row_colour(row: pd.Series) -> list[str]:
        key = next((k for k, v in STATUS_LABELS.items() if v == row["状态"]), None)
        return [f"background-color:{STATUS_COLOURS[key]}22" for _ in row]

    formats = {"时序进度": "{:.1f}", "填报进度": "{:.1f}", "差距": "{:+.1f}", "满意度": "{:.1f}"}
    st.dataframe(
        table.style.apply(_row_colour, axis=1).format(
            {k: v for k, v in formats.items() if k in table.columns}, na_rep="—"
        ),
        hide_index=True,
        width="stretch",
    )
    if rated:
        st.caption(
            "满意度：群众和人大代表满意度测评的平均分（满意 100、基本满意 60、不满意 0）；"
            "“—”为尚无评价。"
        )
