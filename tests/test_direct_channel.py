"""The 民意直通车 API: client retries, errors, high-water mark, crash and resume — over real HTTP
on 127.0.0.1 against the reference server."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from livelihood_monitor import cli, db
from livelihood_monitor.config import load_settings
from livelihood_monitor.direct_channel import (
    SAMPLE_OPINIONS,
    ApiUnavailable,
    AuthError,
    DirectChannelClient,
    Faults,
    MalformedPage,
    Page,
    RetryPolicy,
    SampleApiServer,
    get_high_water_mark,
    ingest_api,
    serve_sample_api,
)
from livelihood_monitor.ingest_feedback import Counts
from livelihood_monitor.values import SHANGHAI

TOKEN = "test-token"
NOW = datetime(2025, 12, 1, tzinfo=SHANGHAI)
SAMPLE = json.loads(SAMPLE_OPINIONS.read_text(encoding="utf-8"))
LATEST = max(item["submitted_at"] for item in SAMPLE)


@pytest.fixture
def wh(tmp_path: Path) -> Path:
    return tmp_path / "wh" / "livelihood.duckdb"


@pytest.fixture
def server() -> Iterator[SampleApiServer]:
    with serve_sample_api(0, TOKEN) as srv:
        yield srv


def faulty(**faults: Any) -> SampleApiServer:
    return serve_sample_api(0, TOKEN, faults=Faults(**faults))


def client(url: str, token: str = TOKEN, **retry: Any) -> DirectChannelClient:
    """A client that records waits instead of sleeping."""
    policy = RetryPolicy(**{"backoff_s": 0.5, "backoff_cap_s": 30.0, "timeout_s": 5.0, **retry})
    return DirectChannelClient(url, token, retry=policy, sleep=lambda _s: None)


def query(wh: Path, sql: str) -> list[tuple[Any, ...]]:
    return db.read_rows(wh, sql)[1]


def test_ingests_every_sample_opinion_and_resumes_from_the_high_water_mark(
    wh: Path, server: SampleApiServer
) -> None:
    first = ingest_api(wh, server.url, TOKEN, now=NOW)
    assert (first.pages, first.counts.read, first.counts.loaded, first.counts.rejected) == (
        2,
        118,
        118,
        0,
    )
    assert first.mark == get_high_water_mark(wh) == datetime.fromisoformat(LATEST).isoformat()
    row = query(
        wh,
        "SELECT source, channel, deputy_code, district, contact_masked FROM feedback WHERE source_id = 'DC2025000112'",
    )
    assert row == [
        ("api:direct_channel", "direct_channel", "YZ-BY-033", "宝应县安宜镇", "181****2070")
    ]
    # The ID number and the phone number inside contents are masked (raw text kept).
    masked = query(
        wh,
        "SELECT text, text_raw FROM feedback WHERE source_id IN ('DC2025001280', 'DC2025001684')",
    )
    for text, raw in masked:
        assert text != raw and "****" in text
    # The next run starts at the mark: only the item at the mark itself comes again.
    second = ingest_api(wh, server.url, TOKEN, now=NOW)
    assert (second.since, second.counts.read, second.counts.loaded, second.counts.duplicate) == (
        first.mark,
        1,
        0,
        1,
    )
    assert query(wh, "SELECT status, rows_loaded FROM ingest_runs ORDER BY started_at") == [
        ("completed", 118),
        ("completed", 0),
    ]


def test_retries_5xx_with_exponential_backoff_then_succeeds(wh: Path) -> None:
    with faulty(fail_requests={1, 2, 3}) as srv:
        c = client(srv.url)
        result = ingest_api(wh, srv.url, TOKEN, client=c, now=NOW)
    assert result.counts.loaded == 118
    assert c.waits == [0.5, 1.0, 2.0]


def test_backoff_is_capped(wh: Path) -> None:
    with faulty(fail_requests={1, 2, 3, 4}) as srv:
        c = client(srv.url, backoff_s=1.0, backoff_cap_s=3.0)
        ingest_api(wh, srv.url, TOKEN, client=c, now=NOW)
    assert c.waits == [1.0, 2.0, 3.0, 3.0]


def test_honours_429_retry_after(wh: Path) -> None:
    with faulty(rate_limit_requests={2}, retry_after_s=7) as srv:
        c = client(srv.url)
        result = ingest_api(wh, srv.url, TOKEN, client=c, now=NOW)
    assert result.counts.loaded == 118 and c.waits == [7.0]


def test_retries_a_timeout(wh: Path) -> None:
    with faulty(delay_requests={1: 1.0}) as srv:
        c = client(srv.url, timeout_s=0.3)
        result = ingest_api(wh, srv.url, TOKEN, client=c, now=NOW)
    assert result.counts.loaded == 118 and c.waits == [0.5]


def test_gives_up_with_a_clear_error_after_the_last_retry(wh: Path) -> None:
    with faulty(fail_requests=set(range(1, 20))) as srv, pytest.raises(ApiUnavailable) as caught:
        ingest_api(wh, srv.url, TOKEN, client=client(srv.url, max_retries=2), now=NOW)
    message = str(caught.value)
    assert "连续 3 次失败" in message and "HTTP 500" in message and "下次运行将从头开始" in message
    assert query(wh, "SELECT status FROM ingest_runs") == [("failed",)]


def test_wrong_token_stops_at_once(wh: Path, server: SampleApiServer) -> None:
    c = client(server.url, token="wrong")
    with pytest.raises(AuthError) as caught:
        ingest_api(wh, server.url, "wrong", client=c, now=NOW)
    assert "令牌" in str(caught.value) and "HTTP 401" in str(caught.value)
    assert c.waits == []  # 401 is not retried


def test_token_expiring_mid_run_keeps_what_was_committed(wh: Path) -> None:
    with faulty(expire_token_after_pages=1) as srv, pytest.raises(AuthError) as caught:
        ingest_api(wh, srv.url, TOKEN, page_size=50, client=client(srv.url), now=NOW)
    message = str(caught.value)
    assert "已保存 1 页" in message and "新增 50 条" in message and "下次运行将从" in message
    assert query(wh, "SELECT count(*) FROM feedback")[0][0] == 50
    mark = get_high_water_mark(wh)
    assert mark == datetime.fromisoformat(sorted(i["submitted_at"] for i in SAMPLE)[49]).isoformat()
    with serve_sample_api(0, TOKEN) as fresh:
        resumed = ingest_api(wh, fresh.url, TOKEN, page_size=50, now=NOW)
    assert resumed.since == mark and resumed.counts.loaded == 68
    assert query(wh, "SELECT count(*), count(DISTINCT source_id) FROM feedback") == [(118, 118)]


def test_malformed_page_is_a_clear_error_and_earlier_pages_stay(wh: Path) -> None:
    with faulty(malformed_pages={2}) as srv, pytest.raises(MalformedPage) as caught:
        ingest_api(wh, srv.url, TOKEN, page_size=50, client=client(srv.url), now=NOW)
    assert "第 2 页返回的内容不是有效的 JSON" in str(caught.value)
    assert query(wh, "SELECT count(*) FROM feedback")[0][0] == 50


def test_an_item_repeated_on_two_pages_is_stored_once(wh: Path) -> None:
    with faulty(repeat_previous_item=True) as srv:
        result = ingest_api(wh, srv.url, TOKEN, page_size=40, client=client(srv.url), now=NOW)
    assert result.pages == 3
    assert (result.counts.read, result.counts.loaded, result.counts.duplicate) == (120, 118, 2)
    assert query(wh, "SELECT count(*), count(DISTINCT source_id) FROM feedback") == [(118, 118)]


class Crash(Exception):
    pass


def test_crash_between_two_pages_loses_nothing_and_duplicates_nothing(
    wh: Path, server: SampleApiServer
) -> None:
    def crash(page: Page, counts: Counts) -> None:
        if page.number == 1:
            raise Crash

    with pytest.raises(Crash):
        ingest_api(wh, server.url, TOKEN, page_size=30, on_page=crash, now=NOW)
    assert query(wh, "SELECT count(*) FROM feedback")[0][0] == 30
    assert query(wh, "SELECT status FROM ingest_runs") == [("failed",)]
    resumed = ingest_api(wh, server.url, TOKEN, page_size=30, now=NOW)
    assert resumed.counts.loaded == 88
    assert query(wh, "SELECT count(*), count(DISTINCT source_id) FROM feedback") == [(118, 118)]


def test_explicit_since_overrides_the_mark(wh: Path, server: SampleApiServer) -> None:
    result = ingest_api(wh, server.url, TOKEN, since="2025-11-01T00:00:00+08:00", now=NOW)
    expected = sum(1 for i in SAMPLE if i["submitted_at"] >= "2025-11-01T00:00:00+08:00")
    assert result.counts.loaded == expected > 0


# --- the reference server ----------------------------------------------------------------------


def test_server_pages_filters_and_checks_the_token(server: SampleApiServer) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    first = requests.get(
        f"{server.url}/opinions", params={"page": 1, "page_size": 100}, headers=headers, timeout=5
    ).json()
    second = requests.get(
        f"{server.url}/opinions", params={"page": 2, "page_size": 100}, headers=headers, timeout=5
    ).json()
    assert (len(first["items"]), first["next_page"], len(second["items"]), second["next_page"]) == (
        100,
        2,
        18,
        None,
    )
    since = requests.get(
        f"{server.url}/opinions", params={"since": LATEST}, headers=headers, timeout=5
    ).json()
    assert [i["submitted_at"] for i in since["items"]] == [LATEST]
    assert requests.get(f"{server.url}/opinions", timeout=5).status_code == 401
    bad = requests.get(
        f"{server.url}/opinions", params={"page_size": 500}, headers=headers, timeout=5
    )
    assert bad.status_code == 400


def test_posting_a_result_is_idempotent_and_persisted(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    with serve_sample_api(0, TOKEN, results_path=results) as srv:
        c = client(srv.url)
        body = {"result": "已督促市住建局处理，计划下月完成", "unit": "市住房和城乡建设局"}
        assert c.post_result("DC2025000112", body)["status"] == "recorded"
        assert c.post_result("DC2025000112", body)["status"] == "unchanged"
        assert srv.results == {"DC2025000112": body}
        missing = requests.post(
            f"{srv.url}/opinions/NOPE/result",
            json=body,
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=5,
        )
        assert missing.status_code == 404
    assert json.loads(results.read_text(encoding="utf-8")) == {"DC2025000112": body}
    with SampleApiServer(0, TOKEN, results_path=results) as reloaded:
        assert reloaded.results == {"DC2025000112": body}


# --- command line ------------------------------------------------------------------------------


def run_cli(argv: list[str], warehouse: Path) -> int:
    from livelihood_monitor import cli_ingest

    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    if "ingest" not in sub.choices:

        def add(name: str, help_text: str, handler: Any, parent: Any = sub) -> Any:
            p = parent.add_parser(name, help=help_text, description=help_text)
            p.set_defaults(handler=handler)
            return p

        cli_ingest.register(sub, add)
    args = parser.parse_args(["--warehouse", str(warehouse), *argv])
    code: int = args.handler(args, load_settings(None, warehouse=warehouse))
    return code


def test_cli_ingest_api(
    wh: Path,
    server: SampleApiServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LM_DIRECT_CHANNEL_TOKEN", raising=False)
    assert run_cli(["ingest", "api", "--url", server.url, "--token", TOKEN], wh) == 0
    assert "新增 118 条" in capsys.readouterr().out
    assert run_cli(["ingest", "api", "--url", server.url, "--token", "wrong"], wh) == 1
    assert "令牌" in capsys.readouterr().err
    assert run_cli(["ingest", "api", "--url", server.url], wh) == 2
    assert "缺少访问令牌" in capsys.readouterr().err
    monkeypatch.setenv("LM_DIRECT_CHANNEL_TOKEN", TOKEN)
    assert run_cli(["ingest", "api", "--url", server.url, "--since", "2025年11月1日"], wh) == 0
    assert run_cli(["ingest", "api", "--url", server.url, "--since", "上周"], wh) == 2
