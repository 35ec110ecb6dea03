"""函件: the register of letters to implementing units, with their Word/PDF files, the units'
replies (回函) and each letter's audit trail."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import pandas as pd
import streamlit as st
from common import (
    LETTER_ACTION_LABELS,
    LETTER_KIND_LABELS,
    LETTER_STATUS_LABELS,
    highlight,
    letters_page,
    page_context,
    settings,
    truthy,
)

from livelihood_monitor.queries import REPLY_EXCERPT_CHARS, resolve_file

st.title("函件登记")
warehouse, year = page_context()

metrics_box = st.container()  # filled below, shown above the filter
chosen = st.multiselect(
    "状态",
    list(LETTER_STATUS_LABELS),
    format_func=lambda s: LETTER_STATUS_LABELS[s],
    placeholder="全部状态",
    key="letter_status",
)
overview = letters_page(warehouse, year, tuple(chosen))
counts = overview.counts
if not counts:
    metrics_box.info(
        f"{year} 年还没有函件。起草进度提醒函和意见反馈函："
        "`livelihood-monitor letters draft --as-of YYYY-MM-DD`；发出后用 "
        "`livelihood-monitor letters issue 文号` 登记。"
    )
    st.stop()

cols = metrics_box.columns(len(LETTER_STATUS_LABELS) + 1)
cols[0].metric("函件合计", sum(counts.values()))
for col, (key, label) in zip(cols[1:], LETTER_STATUS_LABELS.items(), strict=True):
    col.metric(label, counts.get(key, 0))

register = overview.register
if register.empty:
    st.info("没有该状态的函件：请调整上方的状态筛选。")
    st.stop()

# Replies per letter: the letter they answer and, for a 催办函, the number they came in under.
received: dict[str, list[date]] = defaultdict(list)
for answered, via, on in zip(
    overview.replies.get("letter_no", []),
    overview.replies.get("via_letter_no", []),
    overview.replies.get("received_on", []),
    strict=True,
):
    for number in {answered, via}:
        received[number].append(on)


def _change(before: object, after: object) -> str:
    """``已发出 → 已回函`` for a status change; empty when the status stayed."""
    labels = [
        LETTER_STATUS_LABELS.get(s, s) if isinstance(s, str) else "—" for s in (before, after)
    ]
    return "" if labels[0] == labels[1] else " → ".join(labels)


def _replies_cell(letter_no: str) -> str:
    days = received.get(letter_no)
    return f"{len(days)} 件，最近 {max(days).isoformat()}" if days else ""


today = date.today()
st.dataframe(
    pd.DataFrame(
        {
            "文号": register["letter_no"],
            "类型": register["kind"].map(lambda k: LETTER_KIND_LABELS.get(k, k)),
            "收函单位": register["unit"],
            "发出日期": register["issued_on"],
            "答复期限": register["due_on"],
            "状态": register["status"].map(lambda s: LETTER_STATUS_LABELS.get(s, s)),
            "逾期": [
                "是" if s in ("issued", "overdue") and isinstance(d, date) and d < today else ""
                for s, d in zip(register["status"], register["due_on"], strict=True)
            ],
            "回函": register["letter_no"].map(_replies_cell),
        }
    ),
    hide_index=True,
    width="stretch",
)
st.caption(f"共 {len(register)} 件（最新在前）。")

st.subheader("函件详情")
numbers = list(register["letter_no"])
letter_no = st.selectbox("选择函件", numbers, key="letter_download")
row = register[register["letter_no"] == letter_no].iloc[0]
data_dir = settings().data_dir
found = False
d_cols = st.columns(2)
for col, column, label, mime in (
    (
        d_cols[0],
        "path_docx",
        "下载 Word（.docx）",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    (d_cols[1], "path_pdf", "下载 PDF", "application/pdf"),
):
    path = resolve_file(row[column] if isinstance(row[column], str) else None, data_dir)
    if path is None:
        continue
    found = True
    # Read only when clicked (a callable), so listing letters never reads every file.
    col.download_button(
        label,
        data=path.read_bytes,
        file_name=path.name,
        mime=mime,
        key=f"dl_{column}_{letter_no}",
    )
if not found:
    st.info(
        "本机找不到该函件的文件。生成文件：`livelihood-monitor letters draft --as-of YYYY-MM-DD`"
        "（需要 LibreOffice 才能生成 PDF）。"
    )

st.markdown("**回函**")
replies = overview.replies_to(str(letter_no))
if replies.empty and row["status"] == "draft":
    st.caption("草稿尚未发出，没有回函。")
elif replies.empty:
    st.caption(
        "尚未收到回函。收到后登记：`livelihood-monitor letters reply 文号 --file 回函文件`。"
    )
for _, reply in replies.iterrows():
    via = reply["via_letter_no"]
    notes = [f"收到日期：{reply['received_on']}", f"文件：{reply['file_name']}"]
    if via != reply["letter_no"]:
        notes.append(f"答复 {reply['letter_no']}（经催办函 {via} 登记）")
    notes.append(f"登记：{reply['recorded_by']}")
    with st.container(border=True):
        st.caption(" · ".join(notes))
        more = truthy(reply["truncated"])
        st.markdown(
            highlight(str(reply["excerpt"]) + ("……" if more else ""), ()), unsafe_allow_html=True
        )
        if more:
            st.caption(
                f"以上为前 {REPLY_EXCERPT_CHARS} 字（全文约 {int(reply['chars']):,} 字）；"
                "个人信息已遮盖。"
            )

events = overview.events_of(str(letter_no))
with st.expander(f"操作记录（{len(events)} 条）", expanded=False):
    if events.empty:
        st.write("暂无操作记录。")
    else:
        st.dataframe(
            pd.DataFrame(
                {
                    "时间": events["happened"],
                    "操作人": events["actor"],
                    "操作": events["action"].map(lambda a: LETTER_ACTION_LABELS.get(a, a)),
                    "状态变化": [
                        _change(a, b)
                        for a, b in zip(events["from_status"], events["to_status"], strict=True)
                    ],
                    "说明": events["note"].fillna(""),
                }
            ),
            hide_index=True,
            width="stretch",
        )
