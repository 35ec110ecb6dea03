"""Prefect flows. Thin on purpose: each task calls one plain function of ``livelihood_monitor``;
the flows only put them in order, log progress and leave a markdown summary as an artifact.

    ingest-feedback   files waiting in the inboxes (or given paths) → feedback
    ingest-api        the 民意直通车 API since the high-water mark → feedback
    ingest-progress   units' progress sheets → progress_reports
    classify          new feedback → feedback_matches (thread pool, or Dask when configured)
    supervision       status, new letters, overdue replies (daily)
    pipeline          all of the above in order (what `make demo` runs once)
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from livelihood_monitor import (
    direct_channel,
    ingest_feedback,
    ingest_progress,
    matching,
    supervision,
)
from livelihood_monitor.config import Settings, load_settings
from livelihood_monitor.values import SHANGHAI

CHANNELS = ("observation_point", "meeting_day", "hotline", "other")


def _settings(warehouse: str | None) -> Settings:
    return load_settings(warehouse=Path(warehouse) if warehouse else None)


def _artifact(title: str, rows: list[tuple[str, object]], notes: list[str] = ()) -> None:  # type: ignore[assignment]
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    extra = "\n".join(f"- {n}" for n in notes)
    create_markdown_artifact(f"### {title}\n\n| 项目 | 数值 |\n|---|---|\n{table}\n\n{extra}")


def _run_rows(result: ingest_feedback.RunResult) -> list[tuple[str, object]]:
    c = result.counts
    return [
        ("运行编号", result.run_id),
        ("状态", result.status),
        ("读取", c.read),
        ("新增", c.loaded),
        ("重复", c.duplicate),
        ("拒收", c.rejected),
    ]


# --- tasks: one plain function each ---------------------------------------------------------


@task(name="导入群众意见文件")
def ingest_feedback_task(
    warehouse: str, channel: str, paths: list[str], move: bool
) -> ingest_feedback.RunResult:
    logger = get_run_logger()

    def progress(event: ingest_feedback.ProgressEvent) -> None:
        logger.info(
            "%s：本文件已读 %d 行，本次共 %d 行，%.0f 行/秒",
            event.file,
            event.file_rows,
            event.run_rows,
            event.rate,
        )

    return ingest_feedback.ingest_feedback_files(
        Path(warehouse), [Path(p) for p in paths], channel, move=move, on_progress=progress
    )


@task(name="拉取民意直通车", retries=2, retry_delay_seconds=30)
def ingest_api_task(
    warehouse: str, url: str, token: str, since: str | None
) -> direct_channel.ApiRunResult:
    logger = get_run_logger()
    return direct_channel.ingest_api(
        Path(warehouse),
        url,
        token,
        since=since,
        on_page=lambda page, counts: logger.info(
            "已提交第 %s 页：%s", page.number, counts.summary()
        ),
    )


@task(name="导入进度填报")
def ingest_progress_task(
    warehouse: str, paths: list[str], year: int, move: bool
) -> ingest_feedback.RunResult:
    return ingest_progress.ingest_progress_files(
        Path(warehouse), [Path(p) for p in paths], year, move=move
    )


@task(name="归类一段群众意见")
def classify_chunk_task(warehouse: str, year: int, lo: int, hi: int) -> matching.MatchRunSummary:
    return matching.classify_new_feedback(Path(warehouse), year, id_range=(lo, hi))


@task(name="标记重复反映")
def flag_repeats_task(warehouse: str, year: int) -> int:
    return matching.flag_repeated_reports(Path(warehouse), year)


@task(name="每日督办")
def supervision_task(warehouse: str, as_of: date, year: int) -> supervision.SupervisionReport:
    settings = _settings(warehouse)
    return supervision.run_daily_supervision(Path(warehouse), as_of, settings, year=year)


# --- flows ----------------------------------------------------------------------------------


@flow(name="ingest-feedback", log_prints=True)
def ingest_feedback_flow(
    channel: str = "observation_point",
    paths: list[str] | None = None,
    warehouse: str | None = None,
) -> dict[str, Any]:
    """Given paths are loaded as they are; without paths the channel's inbox is emptied
    (loaded files to processed/, unreadable ones to failed/ with a reason)."""
    settings = _settings(warehouse)
    if paths:
        files, move = paths, False
    else:
        inbox = settings.data_dir / "inbox" / channel
        inbox.mkdir(parents=True, exist_ok=True)
        files, move = [str(p) for p in ingest_feedback.inbox_files(inbox)], True
    result = ingest_feedback_task(str(settings.warehouse), channel, files, move)
    notes = [f"{f.path.name}：{f.message}" for f in result.failed_files]
    _artifact(f"群众意见导入（{channel}）", _run_rows(result), notes)
    return {"summary": f"群众意见（{channel}）：{result.counts.summary()}", "run_id": result.run_id}


@flow(name="ingest-api", log_prints=True)
def ingest_api_flow(
    url: str, token: str = "", since: str | None = None, warehouse: str | None = None
) -> dict[str, Any]:
    settings = _settings(warehouse)
    result = ingest_api_task(str(settings.warehouse), url, token, since)
    _artifact(
        "民意直通车拉取", [*_run_rows(result), ("页数", result.pages), ("高水位", result.mark)]
    )
    return {
        "summary": f"民意直通车：{result.counts.summary()}，{result.pages} 页",
        "mark": result.mark,
    }


@flow(name="ingest-progress", log_prints=True)
def ingest_progress_flow(
    paths: list[str] | None = None, year: int | None = None, warehouse: str | None = None
) -> dict[str, Any]:
    settings = _settings(warehouse)
    if paths:
        files, move = paths, False
    else:
        inbox = settings.data_dir / "inbox" / "progress"
        inbox.mkdir(parents=True, exist_ok=True)
        files, move = [str(p) for p in ingest_feedback.inbox_files(inbox)], True
    result = ingest_progress_task(str(settings.warehouse), files, year or settings.year, move)
    _artifact("进度填报导入", _run_rows(result))
    return {"summary": f"进度填报：{result.counts.summary()}", "run_id": result.run_id}


CLASSIFY_RUNNER: TaskRunner[Any] = ThreadPoolTaskRunner(max_workers=2)


@flow(name="classify", log_prints=True, task_runner=CLASSIFY_RUNNER)
def classify_flow(
    year: int | None = None, chunks: int = 2, warehouse: str | None = None
) -> dict[str, Any]:
    """Split the unmatched feedback into id ranges and classify them as parallel tasks. The task
    runner is the flow's: threads by default, Dask when ``LM_TASK_RUNNER=dask`` (see serve)."""
    settings = _settings(warehouse)
    year = year or settings.year
    bounds = matching.unmatched_id_range(settings.warehouse, year)
    if bounds is None:
        _artifact("群众意见归类", [("年度", year), ("新归类", 0)])
        return {"summary": f"{year} 年没有待归类的群众意见", "classified": 0}
    lo, hi = bounds
    step = max((hi - lo + 1) // max(chunks, 1), 1)
    ranges = [(start, min(start + step - 1, hi)) for start in range(lo, hi + 1, step)]
    futures = [classify_chunk_task.submit(str(settings.warehouse), year, a, b) for a, b in ranges]
    summaries = [f.result() for f in futures]
    repeated = flag_repeats_task(str(settings.warehouse), year)
    classified = sum(s.classified for s in summaries)
    matched = sum(s.matched for s in summaries)
    _artifact(
        "群众意见归类",
        [
            ("年度", year),
            ("新归类", classified),
            ("归入项目", matched),
            ("不属于任何项目", classified - matched),
            ("多人重复反映", repeated),
            ("分段", len(ranges)),
        ],
    )
    summary = (
        f"归类 {classified} 条：归入项目 {matched} 条，不属于任何项目 {classified - matched} 条"
    )
    return {"summary": summary, "classified": classified}


@flow(name="supervision", log_prints=True)
def supervision_flow(
    as_of: str | None = None, year: int | None = None, warehouse: str | None = None
) -> dict[str, Any]:
    settings = _settings(warehouse)
    day = date.fromisoformat(as_of) if as_of else datetime.now(SHANGHAI).date()
    report = supervision_task(str(settings.warehouse), day, year or day.year)
    create_markdown_artifact("### 每日督办\n\n" + "\n".join(f"- {line}" for line in report.lines()))
    return {"summary": "\n".join(report.lines()), "as_of": day.isoformat()}


@flow(name="pipeline", log_prints=True)
def pipeline_flow(
    feedback: dict[str, list[str]] | None = None,
    progress: list[str] | None = None,
    api_url: str | None = None,
    api_token: str = "",
    as_of: str | None = None,
    warehouse: str | None = None,
) -> dict[str, Any]:
    """Everything once, in order: files, API, progress, classification, supervision."""
    settings = _settings(warehouse)
    year = int(as_of[:4]) if as_of else settings.year
    results: dict[str, Any] = {}
    for channel in CHANNELS:
        paths = (feedback or {}).get(channel)
        if feedback is None or paths:
            results[f"feedback:{channel}"] = ingest_feedback_flow(channel, paths, warehouse)
    if api_url:
        results["api"] = ingest_api_flow(api_url, api_token, None, warehouse)
    results["progress"] = ingest_progress_flow(progress, year, warehouse)
    results["classify"] = classify_flow(year, 2, warehouse)
    results["supervision"] = supervision_flow(as_of, year, warehouse)
    return results
