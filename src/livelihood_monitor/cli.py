"""The ``livelihood-monitor`` command: a thin layer over plain functions.

Messages meant for operators are Simplified Chinese. Exit codes: 0 done (even if some rows were
rejected), 1 the run failed, 2 bad usage or a rejected input file.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from livelihood_monitor import cli_ingest, cli_letters, cli_status, cli_users, db
from livelihood_monitor.cli_common import Handler
from livelihood_monitor.cli_common import err as _err
from livelihood_monitor.cli_common import out as _out
from livelihood_monitor.config import DEFAULT_REGISTRY, Settings, load_settings


class _Parser(argparse.ArgumentParser):
    """argparse with its built-in English phrases in Chinese."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["add_help"] = False
        super().__init__(*args, **kwargs)
        self.add_argument("-h", "--help", action="help", help="显示本帮助并退出")
        self._positionals.title = "参数"
        self._optionals.title = "选项"

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}：参数错误：{message}\n")


# --- handlers -------------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace, settings: Settings) -> int:
    applied = db.init_warehouse(settings.warehouse)
    if applied:
        _out(f"数据仓库 {settings.warehouse} 已初始化，应用迁移：{'、'.join(applied)}")
    else:
        _out(f"数据仓库 {settings.warehouse} 已是最新结构，无需迁移。")
    return 0


def cmd_registry_import(args: argparse.Namespace, settings: Settings) -> int:
    from livelihood_monitor import registry

    path = Path(args.file)
    year = args.year or settings.year
    try:
        projects = registry.read_registry(path, year)
    except registry.RegistryError as exc:
        _err(str(exc))
        _err("整份清单未导入（票决清单须完整无误），数据仓库中原有清单保持不变。请修改后重新导入。")
        return 2
    db.init_warehouse(settings.warehouse)
    with db.write_transaction(settings.warehouse) as con:
        result = registry.save_registry(
            con, projects, year=year, file_name=path.name, sha256=registry.file_sha256(path)
        )
    note = (
        f"（替换第 {result.replaced_version} 版，旧版本已保留）" if result.replaced_version else ""
    )
    _out(
        f"已导入 {year} 年民生实事项目 {result.project_count} 个，清单版本 {result.version}{note}。"
    )
    return 0


def cmd_registry_list(args: argparse.Namespace, settings: Settings) -> int:
    year = args.year or settings.year
    _, rows = db.read_rows(
        settings.warehouse,
        "SELECT code, category, name, unit, target FROM projects WHERE year = ? ORDER BY code",
        [year],
    )
    if not rows:
        _out(
            f"{year} 年尚未导入项目清单：请运行 `livelihood-monitor registry import 文件 --year {year}`。"
        )
        return 0
    for code, category, name, unit, target in rows:
        _out(f"{code}\t{category}\t{name}\t{unit}\t{target}")
    _out(f"共 {len(rows)} 个项目。")
    return 0


def cmd_normalize(args: argparse.Namespace, settings: Settings) -> int:
    from livelihood_monitor.normalize import normalize_text
    from livelihood_monitor.privacy import mask_pii

    text = sys.stdin.read()
    result = normalize_text(text)
    if args.mask:
        result = mask_pii(result)
    sys.stdout.write(result if result.endswith("\n") or not result else result + "\n")
    return 0


def cmd_classify(args: argparse.Namespace, settings: Settings) -> int:
    from livelihood_monitor import registry
    from livelihood_monitor.classify import classifier_for_projects
    from livelihood_monitor.classify_csv import classify_csv
    from livelihood_monitor.tabular import FileUnreadable

    try:
        projects = registry.read_registry(Path(args.registry), args.year or settings.year)
    except registry.RegistryError as exc:
        _err(str(exc))
        return 2
    try:
        summary = classify_csv(
            classifier_for_projects(projects),
            Path(args.input),
            Path(args.output),
            explain=args.explain,
        )
    except FileUnreadable as exc:
        _err(str(exc))
        return 2
    for note in summary.notes[:50]:
        _err(note)
    if len(summary.notes) > 50:
        _err(f"……另有 {len(summary.notes) - 50} 条提示未显示")
    _out(
        f"已分类 {summary.rows} 条：归入项目 {summary.matched} 条，不属于任何项目 {summary.none} 条；"
        f"结果写入 {args.output}"
    )
    return 0


def cmd_evaluate(args: argparse.Namespace, settings: Settings) -> int:
    from livelihood_monitor import registry
    from livelihood_monitor.classify import classifier_for_projects
    from livelihood_monitor.evaluate import evaluate, read_labelled

    try:
        projects = registry.read_registry(Path(args.registry), args.year or settings.year)
        messages = read_labelled(Path(args.labelled))
    except (registry.RegistryError, ValueError) as exc:
        _err(str(exc))
        return 2
    report = evaluate(classifier_for_projects(projects), messages)
    for line in report.summary_lines(args.worst):
        _out(line)
    return 0


def cmd_match(args: argparse.Namespace, settings: Settings) -> int:
    from livelihood_monitor.matching import classify_new_feedback, flag_repeated_reports

    year = args.year or settings.year
    try:
        summary = classify_new_feedback(
            settings.warehouse, year, on_batch=lambda s: _err(f"……已归类 {s.classified} 条")
        )
    except LookupError as exc:
        _err(str(exc))
        return 2
    _out(summary.summary())
    raised = flag_repeated_reports(settings.warehouse, year)
    _out(f"多人重复反映（近 30 天同一地点、同一问题 3 条以上）的意见 {raised} 条，已提高紧急程度。")
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from livelihood_monitor import scheduling

    planned = scheduling.schedules_from_settings(settings)
    for item in planned:
        _out(f"计划任务 {item.name}：{item.cron}（{scheduling.TIMEZONE}）")
    with scheduling.local_prefect_server(settings) as url:
        _out(f"Prefect 服务：{url}；按 Ctrl+C 停止。")
        scheduling.serve_flows(settings)
    return 0


def cmd_demo_load(args: argparse.Namespace, settings: Settings) -> int:
    from livelihood_monitor import demo

    for line in demo.load_sample_data(settings):
        _out(line)
    return 0


# --- parser ---------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="livelihood-monitor",
        description="民生实事项目监督系统：导入项目清单与群众意见，分类、评估进度、生成函件。",
    )
    parser.add_argument(
        "--warehouse",
        metavar="路径",
        help="数据仓库文件（默认取 LM_WAREHOUSE 或 warehouse/livelihood.duckdb）",
    )
    parser.add_argument(
        "--config", metavar="文件", help="配置文件（TOML，默认 ./livelihood-monitor.toml）"
    )
    sub = parser.add_subparsers(dest="command", metavar="子命令", parser_class=_Parser)
    sub.required = True

    def add(
        name: str,
        help_text: str,
        handler: Handler,
        parent: argparse._SubParsersAction[_Parser] = sub,
    ) -> _Parser:
        p = parent.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        return p

    add("init", "创建或升级数据仓库（重复运行无副作用）", cmd_init)

    reg = sub.add_parser("registry", help="民生实事项目清单", description="民生实事项目清单")
    reg_sub = reg.add_subparsers(dest="registry_command", metavar="操作", parser_class=_Parser)
    reg_sub.required = True
    imp = add(
        "import",
        "导入某年票决通过的项目清单（CSV 或 XLSX，全部正确才导入）",
        cmd_registry_import,
        reg_sub,
    )
    imp.add_argument("file", metavar="文件", help=f"清单文件，例如 {DEFAULT_REGISTRY.name}")
    imp.add_argument(
        "--year", type=int, metavar="年份", help="清单所属年份（默认 2025 或 LM_YEAR）"
    )
    lst = add("list", "列出某年当前的项目清单", cmd_registry_list, reg_sub)
    lst.add_argument("--year", type=int, metavar="年份", help="年份（默认 2025 或 LM_YEAR）")

    norm = add(
        "normalize",
        "规范化文本：繁转简、去拼音注音、全角转半角（标准输入 → 标准输出）",
        cmd_normalize,
    )
    norm.add_argument("--mask", action="store_true", help="同时遮盖手机号、身份证号等个人信息")

    cls = add(
        "classify",
        "把群众意见归入民生实事项目（输入 id,text，输出 id,project_code,confidence,candidates）",
        cmd_classify,
    )
    cls.add_argument("--input", required=True, metavar="输入.csv", help="UTF-8 CSV，列 id,text")
    cls.add_argument("--output", required=True, metavar="输出.csv", help="结果 CSV")
    cls.add_argument(
        "--registry",
        default=str(DEFAULT_REGISTRY),
        metavar="清单",
        help="项目清单（默认内置 2025 年示例）",
    )
    cls.add_argument("--year", type=int, metavar="年份", help="清单年份（默认 2025 或 LM_YEAR）")
    cls.add_argument(
        "--explain", action="store_true", help="追加匹配词、留言类型、紧急程度、原因等列"
    )

    ev = add(
        "evaluate",
        "用标注数据评估分类准确率（列 id,label,text；label 为项目编号或 NONE）",
        cmd_evaluate,
    )
    ev.add_argument("--labelled", required=True, metavar="标注.csv", help="标注文件")
    ev.add_argument(
        "--registry",
        default=str(DEFAULT_REGISTRY),
        metavar="清单",
        help="项目清单（默认内置 2025 年示例）",
    )
    ev.add_argument("--year", type=int, metavar="年份", help="清单年份（默认 2025 或 LM_YEAR）")
    ev.add_argument("--worst", type=int, default=10, metavar="N", help="列出最常混淆的前 N 对")

    match = add(
        "match", "把数据仓库中尚未归类的群众意见归入当年项目（参考已有人工更正）", cmd_match
    )
    match.add_argument("--year", type=int, metavar="年份", help="项目年度（默认 2025 或 LM_YEAR）")

    add(
        "serve",
        "按计划定时运行各流程（未设置 PREFECT_API_URL 时在本机启动 Prefect 服务）",
        cmd_serve,
    )

    cli_ingest.register(sub, add)
    cli_status.register(sub, add)
    cli_letters.register(sub, add)
    cli_users.register(sub, add)

    add(
        "demo-load",
        "初始化数据仓库并载入内置示例数据（项目清单、群众意见、进度填报）",
        cmd_demo_load,
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = load_settings(
        Path(args.config) if args.config else None,
        warehouse=Path(args.warehouse) if args.warehouse else None,
    )
    handler: Handler = args.handler
    try:
        return handler(args, settings)
    except db.WarehouseBusyError as exc:
        _err(str(exc))
        return 1
    except FileNotFoundError as exc:
        _err(str(exc))
        return 1
    except KeyboardInterrupt:
        _err("已中断。")
        return 130


if __name__ == "__main__":
    sys.exit(main())
