"""The 民意直通车 (direct channel) API: a client, its ingestion with a high-water mark, and a
reference server that serves the bundled sample opinions.

Contract (design brief, issue 4)::

    GET {base}/opinions?since=ISO8601&page=N&page_size=100
    Authorization: Bearer {token}
    -> {"items": [{"id", "deputy_code", "submitted_at", "content", "contact", "location"}],
        "next_page": N | null}
    POST {base}/opinions/{id}/result   (the handling result shown to the resident: 码上反馈)

Items come in ascending ``submitted_at`` order and ``since`` is inclusive. The client retries
timeouts, connection errors and 5xx with exponential backoff (capped), honours ``429`` with
``Retry-After``, and stops with a Chinese error on 401/403 or a malformed page. ``ingest_api``
commits page by page and advances the high-water mark (``source_state``) in the same transaction
as the page, so a run that stops half-way (crash, expired token) resumes from the last committed
page without losing or repeating a record. An item repeated on two pages is stored once.

``fetch`` (``DirectChannelClient``) and ``save`` (``save_page``) are separate, so a flow can wrap
each as a task.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import requests

from livelihood_monitor import db
from livelihood_monitor.config import SAMPLE_DATA_DIR
from livelihood_monitor.ingest_feedback import (
    DEFAULT_BATCH_ROWS,
    Batch,
    Counts,
    MergeContext,
    RunResult,
    Scratch,
    SheetInfo,
    finish_run,
    json_label,
    load_records,
    map_record,
    prepare_feedback,
    save_prepared,
    start_run,
    statements,
    try_finish_failed,
)
from livelihood_monitor.values import SHANGHAI, parse_datetime

__all__ = [
    "CHANNEL",
    "SOURCE",
    "ApiUnavailable",
    "AuthError",
    "DirectChannelClient",
    "DirectChannelError",
    "Faults",
    "MalformedPage",
    "Page",
    "RetryPolicy",
    "SampleApiServer",
    "get_high_water_mark",
    "ingest_api",
    "save_page",
    "serve_sample_api",
]

SOURCE = "api:direct_channel"
CHANNEL = "direct_channel"
STATE_KEY = "since"  # source_state key of the high-water mark (an ISO 8601 moment)
PAGE_SIZE = 100
SAMPLE_OPINIONS = SAMPLE_DATA_DIR / "direct_channel" / "opinions.json"
DEFAULT_TOKEN = "demo-token"  # the reference server's default; a real deployment sets its own


class DirectChannelError(Exception):
    """The API could not be read; the message (Chinese) says why and what to do."""


class AuthError(DirectChannelError):
    """401/403: the token is missing, wrong or expired."""


class MalformedPage(DirectChannelError):
    """The API answered 200 with something that is not a page of opinions."""


class ApiUnavailable(DirectChannelError):
    """Timeouts, connection errors or 5xx went on after every retry."""


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 5  # retries after the first attempt, for any retryable answer
    backoff_s: float = 0.5  # first delay; doubles each retry
    backoff_cap_s: float = 30.0  # no single wait (backoff or Retry-After) is longer
    timeout_s: float = 10.0  # per request (connect and read)


DEFAULT_RETRY = RetryPolicy()


@dataclass(frozen=True)
class Page:
    number: int
    items: list[dict[str, Any]]
    next_page: int | None


# --- client (fetch) ---------------------------------------------------------------------------


def _retry_after(value: str | None, default: float) -> float:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date)."""
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    with contextlib.suppress(TypeError, ValueError):
        moment = email.utils.parsedate_to_datetime(value)
        return max(0.0, (moment - datetime.now(moment.tzinfo)).total_seconds())
    return default


class DirectChannelClient:
    """Reads pages of opinions; ``sleep`` is injectable so tests do not wait."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        session: requests.Session | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.session = session or requests.Session()
        self.retry = retry
        self.sleep = sleep
        self.waits: list[float] = []  # every wait taken, for logs and tests

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}

    def _request(self, method: str, url: str, what: str, **kwargs: Any) -> requests.Response:
        """One call with retries. Returns a response with a non-retryable status."""
        last_problem = ""
        for attempt in range(self.retry.max_retries + 1):
            delay = min(self.retry.backoff_cap_s, self.retry.backoff_s * 2**attempt)
            try:
                response = self.session.request(
                    method, url, headers=self._headers(), timeout=self.retry.timeout_s, **kwargs
                )
            except requests.Timeout:
                last_problem = f"请求超时（超过 {self.retry.timeout_s:g} 秒无响应）"
            except requests.ConnectionError as exc:
                last_problem = f"无法连接（{type(exc).__name__}）"
            else:
                status = response.status_code
                if status == HTTPStatus.TOO_MANY_REQUESTS:
                    last_problem = "HTTP 429（请求过于频繁）"
                    delay = min(
                        self.retry.backoff_cap_s,
                        _retry_after(response.headers.get("Retry-After"), delay),
                    )
                elif status >= 500:
                    last_problem = f"HTTP {status}（接口服务器错误）"
                else:
                    return response
            if attempt == self.retry.max_retries:
                break
            self.waits.append(delay)
            self.sleep(delay)
        raise ApiUnavailable(
            f"民意直通车接口{what}连续 {self.retry.max_retries + 1} 次失败，最后一次：{last_problem}。"
            "请稍后重试，或联系接口维护方。"
        )

    def get_page(self, since: str | None, page: int, page_size: int = PAGE_SIZE) -> Page:
        """Fetch one page; raises ``DirectChannelError`` subclasses with Chinese messages."""
        params: dict[str, Any] = {"page": page, "page_size": page_size}
        if since:
            params["since"] = since
        what = f"第 {page} 页"
        response = self._request("GET", f"{self.base_url}/opinions", what, params=params)
        if response.status_code in (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN):
            raise AuthError(
                f"民意直通车接口拒绝了访问令牌（读取{what}时 HTTP {response.status_code}：令牌无效、"
                "已过期或无权限）。请更新令牌（--token 或环境变量 LM_DIRECT_CHANNEL_TOKEN）后重新运行。"
            )
        if response.status_code != HTTPStatus.OK:
            raise DirectChannelError(
                f"民意直通车接口读取{what}时返回 HTTP {response.status_code}：{response.text[:200]}"
            )
        try:
            data = response.json()
        except ValueError as exc:
            raise MalformedPage(
                f"民意直通车接口{what}返回的内容不是有效的 JSON（{exc}），可能被截断；"
                "请稍后重试，若持续出现请联系接口维护方。"
            ) from exc
        items = data.get("items") if isinstance(data, dict) else None
        next_page = data.get("next_page") if isinstance(data, dict) else None
        if (
            not isinstance(items, list)
            or not all(isinstance(item, dict) for item in items)
            or not (next_page is None or (isinstance(next_page, int) and next_page > page))
        ):
            raise MalformedPage(
                f'民意直通车接口{what}的格式不对（应为 {{"items": [...], "next_page": 页码或 null}}），'
                "请联系接口维护方核对接口版本。"
            )
        return Page(page, items, next_page)

    def iter_pages(
        self, since: str | None, *, page_size: int = PAGE_SIZE, start_page: int = 1
    ) -> Iterator[Page]:
        """Pages from ``start_page`` until ``next_page`` is null."""
        number: int | None = start_page
        while number is not None:
            page = self.get_page(since, number, page_size)
            yield page
            number = page.next_page

    def post_result(self, opinion_id: str, result: Mapping[str, Any]) -> dict[str, Any]:
        """Send an opinion's handling result back (码上反馈). Idempotent on the server."""
        url = f"{self.base_url}/opinions/{opinion_id}/result"
        response = self._request("POST", url, f"回传 {opinion_id} 的办理结果", json=dict(result))
        if response.status_code in (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN):
            raise AuthError(
                f"民意直通车接口拒绝了访问令牌（HTTP {response.status_code}），办理结果未回传。"
            )
        if response.status_code != HTTPStatus.OK:
            raise DirectChannelError(
                f"回传 {opinion_id} 的办理结果失败：HTTP {response.status_code}：{response.text[:200]}"
            )
        body = response.json()
        return body if isinstance(body, dict) else {"response": body}


# --- saving (save) ----------------------------------------------------------------------------


def get_high_water_mark(warehouse: Path) -> str | None:
    """The stored mark: ``submitted_at`` of the latest committed item (ISO 8601), if any."""
    if not warehouse.exists():
        return None
    _, rows = db.read_rows(
        warehouse,
        statements("queries/ingest_runs.sql")["get_state"],
        {"source": SOURCE, "key": STATE_KEY},
    )
    return str(rows[0][0]) if rows else None


def set_high_water_mark(con: db.Connection, mark: str) -> None:
    """Store the mark in the caller's transaction (the one that committed the page)."""
    con.execute(
        statements("queries/ingest_runs.sql")["set_state"],
        {"source": SOURCE, "key": STATE_KEY, "value": mark},
    )


def _page_mark(items: Sequence[Mapping[str, Any]]) -> tuple[datetime | None, datetime | None]:
    """Earliest and latest parseable ``submitted_at`` of a page."""
    moments = []
    for item in items:
        with contextlib.suppress(ValueError):
            moments.append(parse_datetime(item.get("submitted_at")))
    return (min(moments), max(moments)) if moments else (None, None)


_API_FIELDS = {"source_id": "id", "submitted_at": "submitted_at", "text": "content"}


def save_page(
    warehouse: Path,
    page: Page,
    ctx: MergeContext,
    *,
    mark: str | None,
    now: datetime | None = None,
) -> Counts:
    """Save one page (its rows, rejects, run counts and, if given, the new high-water mark) in
    one short write transaction."""
    labels = {name: json_label(name, key) for name, key in _API_FIELDS.items()}
    sheet = SheetInfo(f"民意直通车接口第{page.number}页", "条", True, "", labels)
    records = [
        (index, map_record(item), json.dumps(item, ensure_ascii=False))
        for index, item in enumerate(page.items, start=1)
    ]
    with Scratch(None) as scratch:  # a page is small: staged in memory, handed over as Arrow
        loaded = load_records(scratch, records, sheet)
        prepared = prepare_feedback(
            scratch,
            loaded,
            now=now or datetime.now(SHANGHAI),
            batch_rows=DEFAULT_BATCH_ROWS,  # a page (at most 100 items) is one batch
            max_chars=ctx.max_chars,
            reject_repeated_ids=False,
        )

        def advance(con: db.Connection, batch: Batch) -> None:
            if mark is not None and (not prepared.batches or batch == prepared.batches[-1]):
                set_high_water_mark(con, mark)

        counts = save_prepared(warehouse, prepared, ctx, extra=advance)
    if not prepared.batches and not prepared.pre_rejects and mark is not None:
        with db.write_transaction(warehouse) as con:  # an empty page still moves the mark
            set_high_water_mark(con, mark)
    return counts


@dataclass
class ApiRunResult(RunResult):
    pages: int = 0
    since: str | None = None  # where this run started
    mark: str | None = None  # the high-water mark after the run


PageHook = Callable[[Page, Counts], None]


def ingest_api(
    warehouse: Path,
    base_url: str,
    token: str,
    *,
    since: str | None = None,
    page_size: int = PAGE_SIZE,
    client: DirectChannelClient | None = None,
    on_page: PageHook | None = None,
    now: datetime | None = None,
) -> ApiRunResult:
    """Ingest opinions from the API, page by page, as one run (one ``ingest_runs`` row).

    ``since`` defaults to the stored high-water mark (everything, the first time). On an API
    error the run is marked failed and a ``DirectChannelError`` is raised whose message says
    what was saved and where the next run resumes; committed pages stay.
    ``on_page(page, counts)`` is called after each page is committed (progress; tests inject
    crashes there).
    """
    run_id = start_run(warehouse, SOURCE)
    ctx = MergeContext(run_id, SOURCE, CHANNEL)
    start = since if since is not None else get_high_water_mark(warehouse)
    mark = get_high_water_mark(warehouse)
    client = client or DirectChannelClient(base_url, token)
    total = Counts()
    pages = 0
    latest: datetime | None = datetime.fromisoformat(mark) if mark else None
    previous: datetime | None = None  # latest moment of the pages saved so far in this run
    ordered = True  # pages in ascending time: the mark may advance page by page
    try:
        for page in client.iter_pages(start, page_size=page_size):
            earliest, last = _page_mark(page.items)
            if earliest is not None and previous is not None and earliest < previous:
                # Out of order: advancing page by page could skip older items on later pages
                # after a crash, so the mark moves only when the whole run has been saved.
                ordered = False
            if last is not None:
                previous = last if previous is None else max(previous, last)
                latest = last if latest is None else max(latest, last)
            new_mark = latest.isoformat() if latest is not None and ordered else None
            counts = save_page(warehouse, page, ctx, mark=new_mark, now=now)
            if new_mark is not None:
                mark = new_mark
            total.add(counts)
            pages += 1
            if on_page is not None:
                on_page(page, total)
        if not ordered and latest is not None:
            with db.write_transaction(warehouse) as con:
                set_high_water_mark(con, latest.isoformat())
            mark = latest.isoformat()
    except DirectChannelError as exc:
        resume = f"下次运行将从 {mark} 继续" if mark else "下次运行将从头开始"
        message = f"{exc} 本次已保存 {pages} 页（{total.summary('条')}）；{resume}。"
        finish_run(warehouse, run_id, "failed", message)
        raise type(exc)(message) from exc
    except BaseException as exc:
        try_finish_failed(warehouse, run_id, exc)
        raise
    message = f"民意直通车接口：{pages} 页，{total.summary('条')}；高水位 {mark or '（无）'}"
    finish_run(warehouse, run_id, "completed", message)
    return ApiRunResult(
        run_id, SOURCE, "completed", total, [], message, pages=pages, since=start, mark=mark
    )


# --- the reference server ------------------------------------------------------------------------


@dataclass
class Faults:
    """Faults the reference server can inject, for tests and demos. Request numbers count every
    request the server receives, from 1; page numbers are the ``page`` parameter."""

    fail_requests: set[int] = field(default_factory=set)  # answered 500
    rate_limit_requests: set[int] = field(default_factory=set)  # answered 429 + Retry-After
    retry_after_s: float = 1.0
    delay_requests: dict[int, float] = field(default_factory=dict)  # sleep first (timeouts)
    expire_token_after_pages: int | None = None  # later page requests get 401
    malformed_pages: set[int] = field(default_factory=set)  # broken JSON
    repeat_previous_item: bool = False  # each page starts with the previous page's last item


def _load_opinions(path: Path) -> list[dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    items = data.get("items", data) if isinstance(data, dict) else data
    opinions = [dict(item) for item in items if isinstance(item, dict)]

    def moment(item: Mapping[str, Any]) -> datetime:
        try:
            return parse_datetime(item.get("submitted_at"))
        except ValueError:
            return datetime.min.replace(tzinfo=SHANGHAI)

    opinions.sort(key=lambda item: (moment(item), str(item.get("id"))))
    return opinions


class SampleApiServer:
    """A 民意直通车 API on 127.0.0.1 over the bundled sample opinions (standard library only).

    ``POST /opinions/{id}/result`` records results in memory (``results``) and, if
    ``results_path`` is given, in that JSON file; posting the same result again changes nothing.
    """

    def __init__(
        self,
        port: int = 0,
        token: str = DEFAULT_TOKEN,
        opinions_path: Path | None = None,
        *,
        results_path: Path | None = None,
        faults: Faults | None = None,
        host: str = "127.0.0.1",
        verbose: bool = False,
    ) -> None:
        self.token = token
        self.opinions = _load_opinions(opinions_path or SAMPLE_OPINIONS)
        self.by_id = {str(item.get("id")): item for item in self.opinions}
        self.results_path = results_path
        self.results: dict[str, dict[str, Any]] = {}
        if results_path is not None and results_path.exists():
            self.results = json.loads(results_path.read_text(encoding="utf-8"))
        self.faults = faults or Faults()
        self.verbose = verbose
        self.requests_seen = 0
        self.pages_served = 0
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer((host, port), self._handler_class())
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None
        self._serving = False

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> SampleApiServer:
        """Serve in a background thread (returns at once)."""
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, name="sample-api", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until ``shutdown`` (from another thread) or Ctrl+C."""
        self._serving = True
        try:
            self.httpd.serve_forever()
        finally:
            self._serving = False

    def shutdown(self) -> None:
        # BaseServer.shutdown waits for a serve_forever loop: only ask one that runs.
        if self._thread is not None or self._serving:
            self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SampleApiServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    # -- request handling (called from handler threads) --

    def _page(self, query: Mapping[str, list[str]]) -> tuple[int, Any]:
        try:
            page = int(query.get("page", ["1"])[0])
            page_size = int(query.get("page_size", [str(PAGE_SIZE)])[0])
        except ValueError:
            return HTTPStatus.BAD_REQUEST, {"error": "page 和 page_size 必须是整数"}
        if page < 1 or not 1 <= page_size <= PAGE_SIZE:
            return HTTPStatus.BAD_REQUEST, {
                "error": f"page 从 1 开始，page_size 为 1 到 {PAGE_SIZE}"
            }
        items = self.opinions
        since_text = query.get("since", [""])[0]
        if since_text:
            try:
                # A '+' of an offset arrives as a space when the client did not encode it.
                since = parse_datetime(
                    since_text.replace(" ", "+") if "T" in since_text else since_text
                )
            except ValueError:
                return HTTPStatus.BAD_REQUEST, {"error": f"since 不是有效的时间：{since_text}"}
            items = [i for i in items if parse_datetime(i["submitted_at"]) >= since]
        start = (page - 1) * page_size
        chunk = [dict(i) for i in items[start : start + page_size]]
        if self.faults.repeat_previous_item and start > 0 and start <= len(items):
            chunk.insert(0, dict(items[start - 1]))
        next_page = page + 1 if start + page_size < len(items) else None
        return HTTPStatus.OK, {"items": chunk, "next_page": next_page}

    def _record_result(self, opinion_id: str, body: Any) -> tuple[int, Any]:
        if opinion_id not in self.by_id:
            return HTTPStatus.NOT_FOUND, {"error": f"没有编号为 {opinion_id} 的留言"}
        if not isinstance(body, dict):
            return HTTPStatus.BAD_REQUEST, {"error": "请求体应为 JSON 对象"}
        with self.lock:
            if self.results.get(opinion_id) == body:
                return HTTPStatus.OK, {"id": opinion_id, "status": "unchanged"}
            self.results[opinion_id] = body
            if self.results_path is not None:
                # Write-then-rename, so a crash never leaves half a file.
                tmp = self.results_path.with_name(self.results_path.name + ".tmp")
                tmp.write_text(
                    json.dumps(self.results, ensure_ascii=False, indent=1), encoding="utf-8"
                )
                os.replace(tmp, self.results_path)
        return HTTPStatus.OK, {"id": opinion_id, "status": "recorded"}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "lm-sample-api/1"

            def log_message(self, format: str, *args: Any) -> None:
                if server.verbose:
                    super().log_message(format, *args)

            def _send(
                self, status: int, body: Any, headers: Mapping[str, str] | None = None
            ) -> None:
                data = (
                    body
                    if isinstance(body, bytes)
                    else json.dumps(body, ensure_ascii=False).encode()
                )
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def _common_faults(self) -> bool:
                """Number the request and apply request-level faults; True when answered."""
                with server.lock:
                    server.requests_seen += 1
                    number = server.requests_seen
                faults = server.faults
                if number in faults.delay_requests:
                    time.sleep(faults.delay_requests[number])
                if number in faults.fail_requests:
                    self._send(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "injected failure"})
                    return True
                if number in faults.rate_limit_requests:
                    retry_after = {"Retry-After": f"{faults.retry_after_s:g}"}
                    self._send(
                        HTTPStatus.TOO_MANY_REQUESTS, {"error": "too many requests"}, retry_after
                    )
                    return True
                if self.headers.get("Authorization") != f"Bearer {server.token}":
                    self._send(HTTPStatus.UNAUTHORIZED, {"error": "令牌无效"})
                    return True
                return False

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path == "/health":
                    self._send(HTTPStatus.OK, {"status": "ok"})
                    return
                if url.path.rstrip("/") != "/opinions":
                    self._send(HTTPStatus.NOT_FOUND, {"error": "not found"})
                    return
                if self._common_faults():
                    return
                expire = server.faults.expire_token_after_pages
                if expire is not None and server.pages_served >= expire:
                    self._send(HTTPStatus.UNAUTHORIZED, {"error": "令牌已过期"})
                    return
                query = parse_qs(url.query)
                status, body = server._page(query)
                if status == HTTPStatus.OK:
                    with server.lock:
                        server.pages_served += 1
                    page = int(query.get("page", ["1"])[0])
                    if page in server.faults.malformed_pages:
                        text = json.dumps(body, ensure_ascii=False).encode()
                        self._send(HTTPStatus.OK, text[: len(text) // 2])
                        return
                self._send(status, body)

            def do_POST(self) -> None:
                parts = [unquote(p) for p in urlsplit(self.path).path.strip("/").split("/")]
                if len(parts) != 3 or parts[0] != "opinions" or parts[2] != "result":
                    self._send(HTTPStatus.NOT_FOUND, {"error": "not found"})
                    return
                if self._common_faults():
                    return
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"null")
                except ValueError:
                    self._send(HTTPStatus.BAD_REQUEST, {"error": "请求体不是有效的 JSON"})
                    return
                status, answer = server._record_result(parts[1], body)
                self._send(status, answer)

        return Handler


def serve_sample_api(
    port: int = 0,
    token: str = DEFAULT_TOKEN,
    opinions_path: Path | None = None,
    *,
    results_path: Path | None = None,
    faults: Faults | None = None,
    verbose: bool = False,
) -> SampleApiServer:
    """Start the reference server in a background thread and return it (``.url``,
    ``.shutdown()``). ``port=0`` picks a free port."""
    return SampleApiServer(
        port, token, opinions_path, results_path=results_path, faults=faults, verbose=verbose
    ).start()
