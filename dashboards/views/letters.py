"""函件: the register of letters to implementing units, with their Word/PDF files."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st
from common import (
    LETTER_KIND_LABELS,
    LETTER_STATUS_LABELS,
    letters_page,
    page_context,
    settings,
)

from livelihood_monitor.queries import resolve_file

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
        }
    ),
    hide_index=True,
    width="stretch",
)
st.caption(f"共 {len(register)} 件（最新在前）。")

st.subheader("下载函件")
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
