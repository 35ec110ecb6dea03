"""数据质量: ingestion runs and the rows they rejected, with reasons, downloadable as CSV."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st
from common import quality_page, require_user, require_warehouse

from livelihood_monitor import queries

RUN_STATUS_LABELS = {"running": "进行中", "completed": "完成", "failed": "失败"}
ALL_RUNS = "__all__"

st.title("数据质量")
require_user()
warehouse = require_warehouse()
if warehouse is None:
    st.stop()
assert warehouse is not None

# The run chosen below on the previous run of this page: one read for the whole page.
remembered = st.session_state.get("rejected_run", ALL_RUNS)
used_run = None if remembered == ALL_RUNS else str(remembered)
overview = quality_page(warehouse, used_run)
runs = overview.runs
if runs.empty:
    st.info(
        "还没有导入记录。运行 `make demo` 载入示例数据，或运行群众意见、进度填报的导入流程；"
        "每次导入都会在这里留下记录和被拒收的行。"
    )
    st.stop()

cols = st.columns(4)
latest = str(runs["started"].iloc[0])
cols[0].metric("最近导入", latest[5:16], help=f"开始于 {latest}（北京时间）")
cols[1].metric("导入批次（最近）", len(runs))
cols[2].metric("失败批次", int((runs["status"] == "failed").sum()))
cols[3].metric("被拒收的行", f"{overview.rejected_total:,}")

st.subheader("导入批次")
st.dataframe(
    pd.DataFrame(
        {
            "批次": runs["run_id"],
            "来源": runs["source"],
            "开始": runs["started"],
            "结束": runs["finished"],
            "用时（秒）": runs["seconds"],
            "读取": runs["rows_read"],
            "载入": runs["rows_loaded"],
            "拒收": runs["rows_rejected"],
            "重复": runs["rows_duplicate"],
            "状态": runs["status"].map(lambda s: RUN_STATUS_LABELS.get(s, s)),
            "说明": runs["message"],
        }
    ),
    hide_index=True,
    width="stretch",
    column_config={"用时（秒）": st.column_config.NumberColumn(format="%.1f")},
)

st.subheader("被拒收的行")
summary = overview.summary
if summary.empty:
    st.success("没有被拒收的行：最近的导入全部通过校验。")
    st.stop()
st.markdown("**按文件和原因汇总**")
st.dataframe(
    summary.rename(
        columns={
            "source": "来源",
            "file": "文件",
            "reason_kind": "原因",
            "n": "行数",
            "latest": "最近一次",
        }
    ),
    hide_index=True,
    width="stretch",
)

run_ids = [ALL_RUNS, *runs.loc[runs["rows_rejected"] > 0, "run_id"]]
run = st.selectbox(
    "导入批次",
    run_ids,
    format_func=lambda r: "全部批次" if r == ALL_RUNS else r,
    key="rejected_run",
)
run_id = None if run == ALL_RUNS else str(run)
if run_id != used_run:  # the remembered run is gone from the list
    overview = quality_page(warehouse, run_id)
rows = overview.rows
total = overview.rejected_shown_of
st.caption(
    f"显示最新 {len(rows):,} 行（共 {total:,} 行）。改正原文件后重新导入即可；已载入的行不会重复。"
)
st.dataframe(
    rows.rename(columns=queries.REJECTED_ROW_HEADERS),
    hide_index=True,
    width="stretch",
)
path = Path(warehouse)
st.download_button(
    "下载被拒收的行（CSV）",
    # Built only when clicked; cells that Excel would run as formulas are escaped.
    data=lambda: queries.rejected_rows_csv(path, run_id),
    file_name=f"rejected_rows{'_' + run_id if run_id else ''}.csv",
    mime="text/csv",
    key="rejected_csv",
    help=f"UTF-8（带 BOM，Excel 可直接打开），最多 {queries.EXPORT_MAX_ROWS:,} 行。",
)
