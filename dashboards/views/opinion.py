"""民情: where residents' messages come from, what is hot, and the triage queue for editors."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st
from common import (
    CHANNEL_LABELS,
    METHOD_LABELS,
    NO_PROJECT,
    clear_caches,
    current_user,
    issues_html,
    opinion_page,
    page_context,
    projects_overview,
)

from livelihood_monitor import queries
from livelihood_monitor.corrections import CorrectionError, record_correction

WINDOWS = {30: "近30天", 90: "近90天", 366: "全年"}
REASON_LABELS = {"none": "未归入项目", "low": "置信度低", "unclassified": "尚未分类"}
QUEUE_SHOWN = 50

st.title("民情民意")
warehouse, year = page_context()
user = current_user()

days = st.sidebar.selectbox(
    "时间范围", list(WINDOWS), format_func=lambda d: WINDOWS[d], key="opinion_window"
)
# The triage widgets sit further down; their values from session state let one read (one
# connection, the window's messages read once) serve the whole page.
kinds = ["all", "none", "low", "unclassified"]
kind = st.session_state.get("triage_kind", "all")
kind = kind if kind in kinds else "all"
threshold = float(st.session_state.get("triage_threshold", queries.LOW_CONFIDENCE))
overview = opinion_page(warehouse, year, days, threshold, kind, QUEUE_SHOWN)
if overview.latest is None:
    st.info(
        f"{year} 年还没有群众意见。请运行 `make demo` 载入示例，或运行群众意见导入流程"
        "（民情观察点、民意直通车、统一见面日）。"
    )
    st.stop()
window_start, window_end = overview.window_start, overview.window_end
last_day = (window_end - timedelta(days=1)).date()
st.caption(
    f"{year} 年共收到群众意见 {overview.messages:,} 条。热点与待归类队列统计 "
    f"{window_start.date().isoformat()} 至 {last_day.isoformat()}（{WINDOWS[days]}）。"
)

# --- where messages come from ------------------------------------------------------------------

st.subheader("意见来源")
breakdown = overview.breakdown


def _bars(frame: pd.DataFrame, label: str, top: int = 15) -> alt.Chart:
    """Horizontal bars, largest first; one band per row so every label shows."""
    data = frame.nlargest(top, "n")
    chart: alt.Chart = (
        alt.Chart(data)
        .mark_bar(color="#1f6feb")
        .encode(
            x=alt.X("n:Q", title="条数", axis=alt.Axis(format="d", tickMinStep=1)),
            y=alt.Y(
                "key:N",
                title=None,
                sort="-x",
                axis=alt.Axis(labelLimit=240, labelOverlap=False),
            ),
            tooltip=[
                alt.Tooltip("key:N", title=label),
                alt.Tooltip("n:Q", title="条数", format=","),
            ],
        )
        .properties(height=alt.Step(26))
    )
    return chart


def _part(dim: str) -> pd.DataFrame:
    part = breakdown[breakdown["dim"] == dim].copy()
    part["key"] = part["key"].fillna("（未注明）")
    return part


left, right = st.columns(2)
channels = _part("channel")
channels["key"] = channels["key"].map(lambda c: CHANNEL_LABELS.get(c, c))
left.markdown("**按渠道**")
left.altair_chart(_bars(channels, "渠道"), width="stretch")
right.markdown("**按区县**")
right.altair_chart(_bars(_part("district"), "区县"), width="stretch")
points = _part("observation_point")
points = points[points["key"] != "（未注明）"]
left.markdown("**按民情观察点**")
if points.empty:
    left.caption("暂无来自民情观察点的意见。")
else:
    left.altair_chart(_bars(points, "观察点"), width="stretch")
weeks = breakdown[breakdown["dim"] == "week"].copy()
weeks["week_start"] = pd.to_datetime(weeks["week_start"])
# Bars from Monday to Sunday (x to x2), so a week reads as a week on the time axis.
weeks["week_end"] = weeks["week_start"] + pd.Timedelta(days=6)
right.markdown("**按周**（条数）")
right.altair_chart(
    alt.Chart(weeks)
    .mark_bar(color="#6e7781")
    .encode(
        x=alt.X("week_start:T", title=None, axis=alt.Axis(format="%-m月%-d日", labelAngle=0)),
        x2="week_end:T",
        y=alt.Y("n:Q", title=None, axis=alt.Axis(format="d", tickMinStep=1)),
        y2=alt.datum(0),
        tooltip=[
            alt.Tooltip("week_start:T", title="周一", format="%Y-%m-%d"),
            alt.Tooltip("n:Q", title="条数", format=","),
        ],
    )
    .properties(height=260),
    width="stretch",
)

# --- hot issues ------------------------------------------------------------------------------------

st.subheader(f"热点问题（{WINDOWS[days]}）")
hot = overview.hot
projects = projects_overview(warehouse, year)
names = dict(zip(projects["code"], projects["name"], strict=True))
terms = hot[hot["kind"] == "term"] if not hot.empty else hot
top_projects = hot[hot["kind"] == "project"] if not hot.empty else hot
if terms.empty and top_projects.empty:
    st.info("这段时间的意见还没有分类结果：运行分类后这里显示高频问题和被反映最多的项目。")
else:
    h_left, h_right = st.columns(2)
    h_left.markdown("**高频问题词**")
    h_left.altair_chart(_bars(terms, "问题词", top=10), width="stretch")
    h_right.markdown("**被反映最多的项目**")
    h_right.dataframe(
        pd.DataFrame(
            {
                "项目": [f"{c} {names.get(c, '')}" for c in top_projects["key"]],
                "意见条数": top_projects["n"],
            }
        ),
        hide_index=True,
        width="stretch",
    )
if overview.issues.top:
    st.markdown(
        f"**相近意见归组**（本时段涉及项目的最新 {overview.issues.messages:,} 条意见中，"
        "同一项目、同一地点、说法相近的归为一组，按条数、点赞和新近程度排序）"
    )
    st.markdown(issues_html(overview.issues.top, names), unsafe_allow_html=True)

# --- triage queue ----------------------------------------------------------------------------------

st.subheader("待人工归类")
q_left, q_right = st.columns([3, 2])
q_left.radio(
    "类别",
    kinds,
    format_func=lambda k: "全部" if k == "all" else REASON_LABELS[k],
    horizontal=True,
    key="triage_kind",
)
q_right.slider(
    "低置信度阈值",
    min_value=0.3,
    max_value=0.9,
    value=queries.LOW_CONFIDENCE,
    step=0.05,
    key="triage_threshold",
    help="自动分类置信度低于此值的意见进入队列。",
)
queue = overview.queue
c_cols = st.columns(4)
c_cols[0].metric("待归类合计", f"{queue.total:,}")
for col, key in zip(c_cols[1:], ("none", "low", "unclassified"), strict=True):
    col.metric(REASON_LABELS[key], f"{queue.counts.get(key, 0):,}")

flash = st.session_state.pop("triage_flash", None)
if flash:
    st.success(flash)

items = queue.items
if items.empty:
    st.info("队列为空：这段时间的意见都已归类。可在左侧放宽时间范围，或调高阈值查看。")
    st.stop()

st.caption(f"显示最紧急、最新的 {len(items)} 条；个人信息已遮盖。")
st.dataframe(
    pd.DataFrame(
        {
            "编号": items["feedback_id"],
            "时间": items["submitted"],
            "渠道": items["channel"].map(lambda c: CHANNEL_LABELS.get(c, c)),
            "内容": items["text"].map(lambda t: t if len(t) <= 80 else t[:80] + "…"),
            "原因": items["reason"].map(REASON_LABELS),
            "当前归类": [
                f"{c} {names.get(c, '')}" if isinstance(c, str) else "不属于任何项目"
                for c in items["project_code"]
            ],
            "置信度": pd.to_numeric(items["confidence"], errors="coerce"),
            "候选": items["candidates"].fillna(""),
            "方式": items["method"].map(lambda m: METHOD_LABELS.get(m, "")),
        }
    ),
    hide_index=True,
    width="stretch",
    column_config={"置信度": st.column_config.NumberColumn(format="%.2f")},
)

if user is None or not user.can_edit:
    st.info("当前为只读账号：可查看待归类队列；确认或更正归类需要编辑账号。")
    st.stop()

st.markdown("**确认或更正归类**（保存后记为人工归类，分类器据此学习）")
ids = [int(i) for i in items["feedback_id"]]
by_id = {int(r["feedback_id"]): r for _, r in items.iterrows()}
# No form: the project choice must follow the chosen message (its key names the message).
chosen_id = st.selectbox(
    "意见",
    ids,
    format_func=lambda i: f"#{i} {by_id[i]['submitted']} {str(by_id[i]['text'])[:40]}",
    key="triage_feedback",
)
row = by_id[int(chosen_id)]
# The classifier's candidates first, then every other project.
listed = row["candidate_codes"] if isinstance(row["candidate_codes"], list) else []
candidates = [c for c in listed if c in names]
options = [NO_PROJECT, *candidates, *[c for c in names if c not in candidates]]
current = row["project_code"] if isinstance(row["project_code"], str) else None
default = current if current in names else candidates[0] if candidates else NO_PROJECT
code = st.selectbox(
    "归入项目",
    options,
    index=options.index(default),
    format_func=lambda c: "不属于任何项目" if c == NO_PROJECT else f"{c} {names[c]}",
    key=f"triage_project_{chosen_id}",
)
saved = st.button("保存归类", type="primary", key="triage_save")
if saved:
    target = None if code == NO_PROJECT else str(code)
    try:
        record_correction(Path(warehouse), int(chosen_id), target, user, year=year)
    except (CorrectionError, PermissionError) as exc:
        st.error(str(exc))
    else:
        clear_caches()
        label = "不属于任何项目" if target is None else f"{target} {names[target]}"
        st.session_state["triage_flash"] = f"已保存：意见 #{chosen_id} 归入“{label}”。"
        st.rerun()
