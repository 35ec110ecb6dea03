"""项目详情: one project's progress against 时序进度, its reports, what residents say, letters."""

from __future__ import annotations

import html
from datetime import date

import altair as alt
import pandas as pd
import streamlit as st
from common import (
    CHANNEL_LABELS,
    CHECKPOINT_LABELS,
    LETTER_KIND_LABELS,
    LETTER_STATUS_LABELS,
    MESSAGE_TYPE_LABELS,
    METHOD_LABELS,
    RATER_KIND_LABELS,
    RATINGS,
    STATUS_COLOURS,
    STATUS_LABELS,
    fmt_pct,
    highlight,
    issues_html,
    page_context,
    project_page,
    projects_overview,
    split_terms,
    status_badge,
)

from livelihood_monitor.queries import expected_line

MESSAGES_SHOWN = 30

st.title("项目详情")
warehouse, year = page_context()

projects = projects_overview(warehouse, year)
if projects.empty:
    st.info(
        f"{year} 年还没有项目清单：请运行 `livelihood-monitor registry import 清单文件 --year {year}`。"
    )
    st.stop()
codes = list(projects["code"])
names = dict(zip(projects["code"], projects["name"], strict=True))

# A link such as ?code=JY01 opens that project; the choice then lives in the selector.
wanted = st.query_params.get("code")
if st.session_state.get("project_code") not in codes:
    st.session_state["project_code"] = wanted if wanted in codes else codes[0]
code = st.selectbox("选择项目", codes, format_func=lambda c: f"{c} {names[c]}", key="project_code")
st.query_params["code"] = code
project = projects[projects["code"] == code].iloc[0]

st.header(f"{code} {project['name']}")
st.caption(
    f"{project['category']} · 牵头单位：{project['unit']} · "
    f"实施期限：{project['start_date']} 至 {project['due_date']}"
)
st.markdown(f"**目标任务：** {html.escape(str(project['target']))}")

detail = project_page(warehouse, year, code, str(project["unit"]), MESSAGES_SHOWN)
history = detail.history
latest = history.iloc[-1] if not history.empty else None
cols = st.columns(5)
if latest is None:
    for col, label in zip(
        cols, ("时序进度", "填报进度", "差距", "状态", "近30天意见"), strict=True
    ):
        col.metric(label, "—")
    st.info(
        "该项目还没有进度评估。请运行 `livelihood-monitor status --as-of YYYY-MM-DD` 生成评估。"
    )
else:
    cols[0].metric("时序进度", fmt_pct(latest["expected_pct"]))
    cols[1].metric("填报进度", fmt_pct(latest["reported_pct"]))
    cols[2].metric("差距", fmt_pct(latest["gap_pct"], signed=True))
    cols[3].metric("状态", STATUS_LABELS.get(latest["status"], STATUS_LABELS[None]))
    cols[4].metric("近30天意见", int(latest["feedback_30d"] or 0))
    st.markdown(
        f"最近评估：{latest['as_of']}（{CHECKPOINT_LABELS.get(latest['checkpoint'], '')}） "
        + status_badge(latest["status"]),
        unsafe_allow_html=True,
    )

# --- progress against 时序进度 -----------------------------------------------------------------

st.subheader("进度与时序进度")
reports = detail.reports
plan = detail.plan
target_value = project["target_value"]


def _pct(row: pd.Series) -> float | None:
    """A report's progress, or its completed value as a share of the target (as the engine)."""
    if pd.notna(row["progress_pct"]):
        return float(row["progress_pct"])
    if pd.notna(row["completed_value"]) and pd.notna(target_value) and target_value:
        return 100.0 * float(row["completed_value"]) / float(target_value)
    return None


line = expected_line(
    project["start_date"],
    project["due_date"],
    list(zip(plan["planned_on"], plan["planned_pct"], strict=True)) if not plan.empty else [],
)
expected = pd.DataFrame(
    {"日期": [p.on for p in line], "进度": [p.pct for p in line], "系列": "时序进度"}
)
reported = pd.DataFrame(
    {
        "日期": list(reports["report_date"]) if not reports.empty else [],
        "进度": [_pct(r) for _, r in reports.iterrows()] if not reports.empty else [],
        "系列": "填报进度",
    }
).dropna(subset=["进度"])
series = pd.concat([expected, reported], ignore_index=True)
series["日期"] = pd.to_datetime(series["日期"])
top = max(100.0, float(series["进度"].max()) if not series.empty else 100.0)
colour = alt.Color(
    "系列:N",
    scale=alt.Scale(domain=["填报进度", "时序进度"], range=["#1f6feb", "#6e7781"]),
    legend=alt.Legend(title=None, orient="top"),
)
base = alt.Chart(series).encode(
    x=alt.X("日期:T", title=None, axis=alt.Axis(format="%-m月%-d日", labelAngle=0)),
    y=alt.Y(
        "进度:Q",
        title=None,  # a rotated Chinese title reads sideways; the labels carry the unit
        scale=alt.Scale(domain=[0, top]),
        axis=alt.Axis(labelExpr="datum.value + '%'"),
    ),
    color=colour,
    tooltip=[
        alt.Tooltip("系列:N"),
        alt.Tooltip("日期:T", format="%Y-%m-%d"),
        alt.Tooltip("进度:Q", format=".1f"),
    ],
)
expected_layer = base.transform_filter(alt.datum["系列"] == "时序进度").mark_line(
    strokeDash=[6, 4], strokeWidth=2
)
reported_layer = base.transform_filter(alt.datum["系列"] == "填报进度").mark_line(
    point=alt.OverlayMarkDef(size=40), strokeWidth=2.5
)
layers = [expected_layer, reported_layer]
if latest is not None:
    rule = pd.DataFrame({"日期": [pd.to_datetime(latest["as_of"])], "说明": ["评估日期"]})
    layers.append(
        alt.Chart(rule)
        .mark_rule(color=STATUS_COLOURS.get(latest["status"], "#999"), strokeWidth=1)
        .encode(
            x="日期:T", tooltip=[alt.Tooltip("说明:N"), alt.Tooltip("日期:T", format="%Y-%m-%d")]
        )
    )
st.altair_chart(alt.layer(*layers).properties(height=320), width="stretch")
if reported.empty:
    st.info(
        "该项目还没有进度填报：请让牵头单位报送进度表，并运行进度导入（或 `make demo` 载入示例）。"
    )
st.caption("虚线为时序进度（按实施期限匀速，或按单位报送的进度计划）；实线为单位填报进度。")

with st.expander(f"进度填报记录（{len(reports)} 条）", expanded=False):
    if reports.empty:
        st.write("暂无填报。")
    else:
        st.dataframe(
            reports.rename(
                columns={
                    "report_date": "填报日期",
                    "progress_pct": "进度（%）",
                    "completed_value": "完成量",
                    "note": "说明",
                    "unit": "填报单位",
                    "flags": "提示",
                    "source": "来源",
                    "received": "接收时间",
                }
            ),
            hide_index=True,
            width="stretch",
        )
if not history.empty:
    with st.expander(f"历次评估（{len(history)} 次）", expanded=False):
        st.dataframe(
            pd.DataFrame(
                {
                    "评估日期": history["as_of"],
                    "检查点": history["checkpoint"].map(CHECKPOINT_LABELS),
                    "时序进度": history["expected_pct"],
                    "填报进度": history["reported_pct"],
                    "差距": history["gap_pct"],
                    "状态": history["status"].map(lambda s: STATUS_LABELS.get(s, "")),
                    "近30天意见": history["feedback_30d"],
                    "热点": history["hot_terms"],
                }
            ),
            hide_index=True,
            width="stretch",
        )

# --- residents' messages -------------------------------------------------------------------------

st.subheader("群众反映")
summary = detail.feedback_summary
types = summary[summary["kind"] == "type"] if not summary.empty else summary
total = int(types["n"].sum()) if not types.empty else 0
by_type = {k: int(n) for k, n in zip(types.get("key", []), types.get("n", []), strict=True)}
mcols = st.columns(5)
mcols[0].metric("涉及本项目的意见", total)
for col, key in zip(mcols[1:], ("complaint", "suggestion", "inquiry", "praise"), strict=True):
    col.metric(MESSAGE_TYPE_LABELS[key], by_type.get(key, 0))
terms = summary[summary["kind"] == "term"] if not summary.empty else summary
if not terms.empty:
    chips = " ".join(
        f'<span style="background:#fff3cd;border-radius:10px;padding:2px 8px;margin:2px;'
        f'display:inline-block">{html.escape(str(k))} <b>{int(n)}</b></span>'
        for k, n in zip(terms["key"], terms["n"], strict=True)
    )
    st.markdown(f"<div>高频词：{chips}</div>", unsafe_allow_html=True)

if total == 0:
    st.info(
        "还没有归入本项目的群众意见。导入意见并运行分类后这里会显示；"
        "未能自动归类的意见可在“民情”页人工归类。"
    )
else:
    if detail.issues.top:
        st.markdown(
            f"**热点问题**（最新 {detail.issues.messages:,} 条意见中，同一地点、说法相近的归为一组，"
            "按条数、点赞和新近程度排序）"
        )
        st.markdown(issues_html(detail.issues.top), unsafe_allow_html=True)
    messages = detail.feedback
    st.caption(f"最新 {len(messages)} 条（共 {total} 条）；个人信息已遮盖，匹配词以黄色标出。")
    blocks = []
    for _, m in messages.iterrows():
        where = " · ".join(
            str(v)
            for v in (
                CHANNEL_LABELS.get(m["channel"], m["channel"]),
                m["observation_point"],
                m["district"],
            )
            if isinstance(v, str) and v
        )
        kind = MESSAGE_TYPE_LABELS.get(m["message_type"], MESSAGE_TYPE_LABELS[None])
        method = METHOD_LABELS.get(m["method"], "")
        blocks.append(
            '<div style="border-bottom:1px solid #eee;padding:6px 0">'
            f'<small style="color:#666">{html.escape(str(m["submitted"]))} · {html.escape(where)} · '
            f"<b>{html.escape(kind)}</b> · {html.escape(method)}归类</small><br>"
            f"{highlight(str(m['text']), split_terms(m['matched_terms']))}</div>"
        )
    st.markdown("<div>" + "".join(blocks) + "</div>", unsafe_allow_html=True)

# --- satisfaction ----------------------------------------------------------------------------------

st.subheader("满意度测评")
rated = detail.satisfaction
if rated.score is None:
    st.info(
        "该项目还没有满意度评价。导入群众和人大代表的评价："
        "`livelihood-monitor satisfaction import 文件`（满意 100、基本满意 60、不满意 0，取平均）。"
    )
else:
    s_cols = st.columns(4)
    s_cols[0].metric("满意度", f"{rated.score:.1f}")
    for col, kind in zip(s_cols[1:3], ("resident", "deputy"), strict=True):
        score = rated.kind_score(kind)
        col.metric(f"{RATER_KIND_LABELS[kind]}满意度", "—" if score is None else f"{score:.1f}")
    s_cols[3].metric("评价数", rated.ratings)
    by_kind = rated.by_kind
    st.dataframe(
        pd.DataFrame(
            {
                "评价人": [
                    *by_kind["rater_kind"].map(lambda k: RATER_KIND_LABELS.get(k, k)),
                    "合计",
                ],
                "评价数": [*by_kind["ratings"], rated.ratings],
                RATINGS[0]: [*by_kind["satisfied"], rated.counts[RATINGS[0]]],
                RATINGS[1]: [*by_kind["basically_satisfied"], rated.counts[RATINGS[1]]],
                RATINGS[2]: [*by_kind["dissatisfied"], rated.counts[RATINGS[2]]],
                "满意度": [*by_kind["score"], rated.score],
            }
        ),
        hide_index=True,
        width="stretch",
        column_config={"满意度": st.column_config.NumberColumn(format="%.1f")},
    )
    st.caption("满意 100 分、基本满意 60 分、不满意 0 分，取全部评价（含对具体意见的评价）的平均。")

# --- letters to the unit -----------------------------------------------------------------------

st.subheader(f"致{project['unit']}的函件")
sent = detail.letters
if sent.empty:
    st.info(
        "尚未向该单位发函。起草进度提醒函或意见反馈函：`livelihood-monitor letters draft --as-of YYYY-MM-DD`。"
    )
else:
    today = date.today()
    st.dataframe(
        pd.DataFrame(
            {
                "文号": sent["letter_no"],
                "类型": sent["kind"].map(lambda k: LETTER_KIND_LABELS.get(k, k)),
                "发出日期": sent["issued_on"],
                "答复期限": sent["due_on"],
                "状态": sent["status"].map(lambda s: LETTER_STATUS_LABELS.get(s, s)),
                "逾期": [
                    "是" if s in ("issued", "overdue") and isinstance(d, date) and d < today else ""
                    for s, d in zip(sent["status"], sent["due_on"], strict=True)
                ],
            }
        ),
        hide_index=True,
        width="stretch",
    )
