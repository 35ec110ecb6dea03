"""Benchmark: ingest N generated feedback rows from one CSV, next to DuckDB's own ``read_csv``.

    .venv/bin/python bench/ingest.py --rows 1000000 [--repeat 3]

Generates an observation-point style CSV (Chinese headers, UTF-8) in a temp dir, then, each in
its own process so peak memory is measured per step, and ``--repeat`` times in turn (this
machine is noisy: the ratios of each round and their medians are printed):

1. ``load``: ``ingest_feedback_files`` into a fresh warehouse file (normalisation, masking,
   validation, identity, dedupe, batched commits);
2. ``read_csv → file``: DuckDB's ``read_csv`` of the same file into a table of a fresh DuckDB file
   (the practical limit for getting these rows into a warehouse file);
3. ``read_csv → memory``: the same into an in-memory table (parsing alone);
4. ``read_csv → feedback``: ``read_csv`` straight into the warehouse's ``feedback`` table, its
   columns filled as plainly as possible (text stored twice, a sha256 per row, the table's two
   indexes) in one transaction: what storing the rows costs before any of the load's work.

Prints rows/s of each, the ratios, and peak RSS (``resource.getrusage``). ``--profile`` prints
where the load spends its time.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

POINTS = [
    "广陵区东关街道",
    "广陵区文峰街道",
    "广陵区湾头镇",
    "邗江区蒋王街道",
    "邗江区汊河街道",
    "邗江区瓜洲镇",
    "江都区仙女镇",
    "江都区邵伯镇",
    "仪征市真州镇",
    "仪征市月塘镇",
    "高邮市卸甲镇",
    "高邮市界首镇",
    "宝应县安宜镇",
    "宝应县射阳湖镇",
    "开发区文汇街道",
]
CLAUSES = [
    "小区门口的路灯坏了好几天",
    "希望增加公交班次",
    "老旧小区改造进度太慢",
    "楼里想装电梯但是一楼住户不同意",
    "学校操场周末不对外开放",
    "社区食堂的菜太咸了",
    "菜场没有公共厕所",
    "充电桩坏了一半没人修",
    "道路施工噪音很大影响休息",
    "社区医院挂号太难",
    "希望在小游园多装几盏路灯",
    "停车位太少车都停到人行道上",
    "垃圾分类点味道很大",
    "老年大学报名名额太少",
    "托育点收费太高",
    "河道里有人乱倒垃圾",
    "城市书房周末座位不够",
    "农贸市场改造后没地方停电动车",
    "孩子视力下降希望学校多组织户外活动",
    "就业服务站一直没人值班",
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"


def _text(rng: random.Random) -> str:
    clauses = rng.sample(CLAUSES, rng.randint(2, 4))
    text = "，".join(clauses) + rng.choice(["。", "！", "，请尽快解决。", "。谢谢！"])
    roll = rng.random()
    # A realistic mix of what makes a text need Python (measured shares in real message boards
    # are of this order): phone numbers, house numbers, brackets, Traditional, full-width digits.
    if roll < 0.06:
        text += f"我的电话是1{rng.randint(3, 9)}{rng.randint(100000000, 999999999)}。"
    elif roll < 0.16:
        text = f"{rng.randint(1, 40)}栋{rng.randint(1, 6)}单元" + text
    elif roll < 0.20:
        text += "（已经反映过多次）"
    elif roll < 0.22:
        text = "樓下商鋪每天早上六點開始卸貨，聲音很大。" + text
    elif roll < 0.24:
        text += f"已经等了{rng.randint(100, 999)}天了"
    return text


def generate(path: Path, rows: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    start = datetime(2025, 1, 1)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(
            ["编号", "反映时间", "观察点", "所属地区", "反映人", "联系电话", "反映内容"]
        )
        for i in range(rows):
            moment = start + timedelta(minutes=rng.randint(0, 300 * 24 * 60))
            shape = rng.random()
            if shape < 0.8:
                when = moment.strftime("%Y-%m-%d %H:%M")
            elif shape < 0.9:
                when = f"{moment.year}/{moment.month}/{moment.day} {moment:%H:%M}"
            else:
                when = f"{moment.year}年{moment.month}月{moment.day}日"
            point = rng.choice(POINTS)
            contact_roll = rng.random()
            if contact_roll < 0.8:
                contact = f"1{rng.randint(3, 9)}{rng.randint(100000000, 999999999)}"
            elif contact_roll < 0.9:
                contact = f"0514-8{rng.randint(1000000, 9999999)}"
            else:
                contact = ""
            person = rng.choice(SURNAMES) + rng.choice(["先生", "女士", "大爷", "阿姨"])
            writer.writerow(
                [f"OP{i:08d}", when, point + "民情观察点", point[:3], person, contact, _text(rng)]
            )


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def phase_load(
    csv_path: Path, warehouse: Path, batch_rows: int | None, profile: bool, memory_limit: str | None
) -> dict[str, object]:
    import duckdb
    import pyarrow as pa  # type: ignore[import-untyped]

    from livelihood_monitor.ingest_feedback import (
        DEFAULT_BATCH_ROWS,
        DEFAULT_SCRATCH_MEMORY,
        ingest_feedback_files,
        safe_text_pattern,
    )

    # One-time start-up, excluded like `import duckdb` is for read_csv: deriving the safe
    # character set (~0.2 s) and the modules DuckDB imports on first registering an Arrow table
    # (pandas: ~2 s here, where PYTHONDONTWRITEBYTECODE forces recompiling it).
    warm_started = time.perf_counter()
    safe_text_pattern()
    safe_text_pattern(mobiles=True)
    duckdb.connect().register("warm_up", pa.table({"x": [1]}))
    warm_up = time.perf_counter() - warm_started
    started = time.perf_counter()
    if profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
    result = ingest_feedback_files(
        warehouse,
        [csv_path],
        "observation_point",
        batch_rows=batch_rows or DEFAULT_BATCH_ROWS,
        memory_limit=memory_limit or DEFAULT_SCRATCH_MEMORY,
    )
    seconds = time.perf_counter() - started
    if profile:
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
    c = result.counts
    return {
        "seconds": seconds,
        "rows": c.read,
        "loaded": c.loaded,
        "rejected": c.rejected,
        "duplicate": c.duplicate,
        "peak_rss_mb": _peak_rss_mb(),
        "start_up_s": warm_up,
    }


def phase_read_csv(csv_path: Path, target: str) -> dict[str, object]:
    import duckdb

    con = duckdb.connect(target)
    started = time.perf_counter()
    con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?, all_varchar = true)", [str(csv_path)])
    rows = con.execute("SELECT count(*) FROM t").fetchone()
    con.close()  # a file database is checkpointed here: part of getting the rows stored
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": rows[0] if rows else 0, "peak_rss_mb": _peak_rss_mb()}


def phase_store_floor(csv_path: Path, warehouse: Path) -> dict[str, object]:
    import duckdb

    from livelihood_monitor.db import init_warehouse

    init_warehouse(warehouse)
    con = duckdb.connect(str(warehouse))
    started = time.perf_counter()
    con.begin()
    con.execute(
        """
        INSERT INTO feedback (source, source_id, channel, observation_point, district,
                              submitted_at, text_raw, text, submitter, contact_masked, content_hash)
        SELECT 'file:observation_point', 'feedback.csv#' || 编号, 'observation_point', 观察点,
               所属地区, TRY_CAST(反映时间 AS TIMESTAMP), 反映内容, 反映内容, 反映人, 联系电话,
               sha256(反映内容)
        FROM read_csv(?, all_varchar = true)
        """,
        [str(csv_path)],
    )
    con.commit()
    rows = con.execute("SELECT count(*) FROM feedback").fetchone()
    con.close()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": rows[0] if rows else 0, "peak_rss_mb": _peak_rss_mb()}


def _run_phase(*args: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, __file__, *args], check=True, stdout=subprocess.PIPE, text=True
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _rate(r: dict[str, object]) -> float:
    return float(r["rows"]) / float(r["seconds"])  # type: ignore[arg-type]


def _seconds(r: dict[str, object]) -> float:
    return float(r["seconds"])  # type: ignore[arg-type]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1, help="rounds of all steps, in turn")
    parser.add_argument(
        "--batch-rows", type=int, help="rows per merge batch (default: the product's)"
    )
    parser.add_argument(
        "--memory-limit", help="the scratch database's limit (default: the product's)"
    )
    parser.add_argument("--dir", type=Path, help="work here instead of a temp dir (kept)")
    parser.add_argument("--profile", action="store_true", help="profile the load step")
    parser.add_argument(
        "--phase", choices=["load", "read_csv_file", "read_csv_memory", "store_floor"]
    )
    parser.add_argument("--csv", type=Path)
    parser.add_argument("--warehouse", type=Path)
    args = parser.parse_args()

    if args.phase == "load":
        result = phase_load(
            args.csv, args.warehouse, args.batch_rows, args.profile, args.memory_limit
        )
    elif args.phase == "read_csv_file":
        result = phase_read_csv(args.csv, str(args.warehouse))
    elif args.phase == "read_csv_memory":
        result = phase_read_csv(args.csv, ":memory:")
    elif args.phase == "store_floor":
        result = phase_store_floor(args.csv, args.warehouse)
    if args.phase:
        print(json.dumps(result))
        return 0

    with tempfile.TemporaryDirectory(prefix="lm-bench-") as tmp:
        work = args.dir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        csv_path = work / "feedback.csv"
        started = time.perf_counter()
        generate(csv_path, args.rows)
        size_mb = csv_path.stat().st_size / 1e6
        print(
            f"generated {args.rows:,} rows ({size_mb:.0f} MB) in {time.perf_counter() - started:.1f} s"
        )
        load_extra = ["--batch-rows", str(args.batch_rows)] if args.batch_rows else []
        load_extra += ["--memory-limit", args.memory_limit] if args.memory_limit else []
        load_extra += ["--profile"] if args.profile else []
        rounds: list[dict[str, dict[str, object]]] = []
        for _ in range(args.repeat):
            for name in ("load.duckdb", "read_csv.duckdb", "floor.duckdb"):
                for path in work.glob(name + "*"):
                    path.unlink()
            common = ["--csv", str(csv_path)]
            steps = {
                "load": _run_phase(
                    "--phase",
                    "load",
                    *common,
                    "--warehouse",
                    str(work / "load.duckdb"),
                    *load_extra,
                ),
                "file": _run_phase(
                    "--phase",
                    "read_csv_file",
                    *common,
                    "--warehouse",
                    str(work / "read_csv.duckdb"),
                ),
                "memory": _run_phase("--phase", "read_csv_memory", *common),
                "floor": _run_phase(
                    "--phase", "store_floor", *common, "--warehouse", str(work / "floor.duckdb")
                ),
            }
            rounds.append(steps)
            load, file, memory, floor = (steps[k] for k in ("load", "file", "memory", "floor"))
            print(
                f"load (ingest_feedback_files): {load['rows']:,} rows in {_seconds(load):.2f} s = "
                f"{_rate(load):,.0f} rows/s, peak RSS {load['peak_rss_mb']:.0f} MB "
                f"(loaded {load['loaded']:,}, rejected {load['rejected']:,}, "
                f"duplicate {load['duplicate']:,}; one-time start-up {load['start_up_s']:.1f} s "
                "not included)"
            )
            for label, step in (
                ("DuckDB read_csv → file table:    ", file),
                ("DuckDB read_csv → memory table:  ", memory),
                ("DuckDB read_csv → feedback table:", floor),
            ):
                print(
                    f"{label} {_seconds(step):.2f} s = {_rate(step):,.0f} rows/s, "
                    f"peak RSS {step['peak_rss_mb']:.0f} MB"
                )
            print(
                f"load / read_csv→file = {_seconds(load) / _seconds(file):.2f}×   "
                f"load / read_csv→memory = {_seconds(load) / _seconds(memory):.2f}×   "
                f"read_csv→feedback / read_csv→file = {_seconds(floor) / _seconds(file):.2f}×"
            )

    if len(rounds) > 1:

        def median_ratio(a: str, b: str) -> float:
            return statistics.median(_seconds(r[a]) / _seconds(r[b]) for r in rounds)

        print(
            f"medians over {len(rounds)} rounds: load {statistics.median(_seconds(r['load']) for r in rounds):.2f} s; "
            f"load / read_csv→file = {median_ratio('load', 'file'):.2f}×, "
            f"load / read_csv→memory = {median_ratio('load', 'memory'):.2f}×, "
            f"read_csv→feedback / read_csv→file = {median_ratio('floor', 'file'):.2f}×, "
            f"load / read_csv→feedback = {median_ratio('load', 'floor'):.2f}×"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
