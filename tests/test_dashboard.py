from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from streamlit.testing.v1 import AppTest

from livelihood_monitor import db, registry, users
from livelihood_monitor.config import DEFAULT_REGISTRY

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "dashboards" / "app.py"
ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture
def demo_warehouse(warehouse_file: Path) -> Path:
    db.init_warehouse(warehouse_file)
    projects = registry.read_registry(DEFAULT_REGISTRY, 2025)
    with db.write_transaction(warehouse_file) as con:
        registry.save_registry(con, projects, year=2025, file_name="s.csv", sha256="x")
        con.execute(
            "INSERT INTO project_status (year, project_code, as_of, checkpoint, expected_pct, "
            "reported_pct, gap_pct, status) VALUES (2025, 'JY01', DATE '2025-06-30', 'mid', 50, 20, "
            "-30, 'seriously_behind')"
        )
    return warehouse_file


def run_app(monkeypatch: pytest.MonkeyPatch, warehouse: Path) -> AppTest:
    monkeypatch.setenv("LM_WAREHOUSE", str(warehouse))
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.session_state["user"] = {"name": "test", "role": "viewer"}  # as the login page leaves it
    at.run()
    assert not at.exception, at.exception
    return at


def test_overview_lists_projects_by_category(
    monkeypatch: pytest.MonkeyPatch, demo_warehouse: Path
) -> None:
    at = run_app(monkeypatch, demo_warehouse)
    assert at.title[0].value == "民生实事项目总览"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["项目数"] == "55" and metrics["类别"] == "10"
    assert metrics["已评估进度"] == "1 / 55"
    headers = [s.value for s in at.subheader]
    assert "教育发展（7 项）" in headers
    cards = "".join(m.value for m in at.markdown)
    assert "建设一批优质学校" in cards and "严重滞后" in cards


def test_overview_filters_by_category(
    monkeypatch: pytest.MonkeyPatch, demo_warehouse: Path
) -> None:
    at = run_app(monkeypatch, demo_warehouse)
    at.sidebar.multiselect[0].select("养老服务").run()
    assert {m.label: m.value for m in at.metric}["项目数"] == "7"
    assert [s.value for s in at.subheader if "项）" in s.value] == ["养老服务（7 项）"]


def test_missing_warehouse_tells_what_to_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    at = run_app(monkeypatch, tmp_path / "none.duckdb")
    assert "make demo" in at.warning[0].value


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


DEMO_PASSWORD = "browser-pass-1"


@pytest.fixture
def served_dashboard(tmp_path: Path) -> Iterator[str]:
    """A real Streamlit server on the small dashboard warehouse, with one editor account."""
    from test_dashboard_pages import build_small_warehouse

    warehouse = build_small_warehouse(tmp_path / "wh" / "livelihood.duckdb")
    users_file = tmp_path / "users.toml"
    users.add_user(users_file, "supervisor", DEMO_PASSWORD, "editor")
    port = _free_port()
    env = {**os.environ, "LM_WAREHOUSE": str(warehouse), "LM_USERS_FILE": str(users_file)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(APP),
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/_stcore/health", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.3)
        else:
            pytest.fail("仪表盘 60 秒内未启动")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.mark.slow
@pytest.mark.browser
def test_browser_logs_in_and_renders_overview_and_project(served_dashboard: str) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("未安装 Debian chromium（.ci/run 会安装）")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        # A page's address opens the login form first: nothing else exists before signing in.
        page.goto(f"{served_dashboard}/project", wait_until="domcontentloaded")
        page.get_by_role("button", name="登录").wait_for(timeout=30_000)
        assert page.get_by_role("heading", name="民生实事监督").is_visible()
        assert page.get_by_text("建设一批优质学校").count() == 0
        assert page.get_by_text("Page not found").count() == 0

        page.goto(served_dashboard, wait_until="domcontentloaded")
        page.get_by_role("button", name="登录").wait_for(timeout=30_000)
        page.wait_for_timeout(500)  # fonts
        page.screenshot(path=str(ARTIFACTS / "login.png"), full_page=False)
        page.get_by_label("用户名").fill("supervisor")
        page.get_by_label("密码").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="登录").click()

        page.get_by_role("heading", name="民生实事项目总览").wait_for(timeout=30_000)
        page.get_by_text("建设一批优质学校").first.wait_for(timeout=30_000)
        assert page.get_by_text("教育发展（7 项）").is_visible()
        assert page.get_by_text("评估日期：2025-06-30（年中）").is_visible()
        assert page.get_by_text("填报 30.0% / 时序 40.0%").first.is_visible()
        assert page.get_by_text("supervisor").first.is_visible()
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "overview.png"), full_page=False)

        page.get_by_role("link", name="项目详情").click()
        page.get_by_role("heading", name="项目详情").wait_for(timeout=30_000)
        page.locator("[data-testid='stMain'] [data-testid='stSelectbox']").first.click()
        page.keyboard.type("JY01")
        page.keyboard.press("Enter")
        page.get_by_role("heading", name="JY01 建设一批优质学校").wait_for(timeout=30_000)
        page.locator("mark", has_text="停工").first.wait_for(timeout=30_000)
        assert page.get_by_text("进度与时序进度").is_visible()
        assert page.get_by_text("滞后").first.is_visible()
        assert page.get_by_text("138****5678", exact=False).first.is_visible()
        # The resident's "<script>" shows as text, never as markup.
        assert page.get_by_text("<script>alert(1)</script>", exact=False).first.is_visible()
        page.locator(
            "[data-testid='stVegaLiteChart'] svg, [data-testid='stVegaLiteChart'] canvas"
        ).first.wait_for(timeout=30_000)
        page.set_viewport_size({"width": 1400, "height": 2000})  # the page scrolls inside Streamlit
        page.wait_for_timeout(800)  # let the chart finish drawing
        page.screenshot(path=str(ARTIFACTS / "project.png"), full_page=True)
        browser.close()
    for name in ("login.png", "overview.png", "project.png"):
        assert (ARTIFACTS / name).stat().st_size > 10_000, name
