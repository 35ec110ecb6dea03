"""Running the flows on schedules (``livelihood-monitor serve``).

Prefect only schedules through an API server; the ephemeral one runs nothing on a schedule (see
stack-notes). So when ``PREFECT_API_URL`` is not set we start a local ``prefect server`` on
127.0.0.1 with its own ``PREFECT_HOME`` under the data folder, point the flows at it and stop it
on exit. To use an existing Prefect server instead, set ``PREFECT_API_URL`` before ``serve``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests

from livelihood_monitor.config import Settings

TIMEZONE = "Asia/Shanghai"

# flow name -> cron (Asia/Shanghai). Override in the config file:
#   [livelihood_monitor.schedules]
#   ingest-feedback = "*/10 * * * *"
DEFAULT_SCHEDULES = {
    "ingest-feedback": "*/15 * * * *",  # inboxes of every channel
    "ingest-api": "5 * * * *",  # 民意直通车, hourly (needs direct_channel_url)
    "ingest-progress": "0 6 * * *",
    "classify": "*/20 * * * *",
    "supervision": "30 7 * * 1-5",  # working-day mornings
}


@dataclass(frozen=True)
class ScheduledFlow:
    name: str
    cron: str
    parameters: dict[str, Any]


def schedules_from_settings(settings: Settings) -> list[ScheduledFlow]:
    crons = {**DEFAULT_SCHEDULES, **settings.extra.get("schedules", {})}
    unknown = set(crons) - set(DEFAULT_SCHEDULES)
    if unknown:
        raise ValueError(f"配置中的计划任务名称无法识别：{'、'.join(sorted(unknown))}")
    planned = []
    for name, cron in crons.items():
        if not cron:
            continue  # an empty cron switches a flow off
        parameters: dict[str, Any] = {"warehouse": str(settings.warehouse)}
        if name == "ingest-api":
            url = settings.extra.get("direct_channel_url") or os.environ.get(
                "LM_DIRECT_CHANNEL_URL"
            )
            if not url:
                continue
            token = settings.extra.get("direct_channel_token") or os.environ.get(
                "LM_DIRECT_CHANNEL_TOKEN", ""
            )
            parameters.update(url=url, token=token)
        planned.append(ScheduledFlow(name, str(cron), parameters))
    return planned


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def local_prefect_server(settings: Settings, *, timeout_s: float = 120.0) -> Iterator[str]:
    """Yield a Prefect API URL: the configured one, or a local server started (and stopped) here."""
    configured = os.environ.get("PREFECT_API_URL")
    if configured:
        yield configured
        return
    home = settings.data_dir / "prefect-server"
    home.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
    }
    log = (home / "server.log").open("ab")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "prefect",
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"Prefect 服务未能启动，请查看日志 {home / 'server.log'}")
            try:
                if requests.get(f"{url}/health", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"Prefect 服务 {timeout_s:.0f} 秒内未就绪，请查看日志 {home / 'server.log'}"
                )
            time.sleep(0.5)
        os.environ["PREFECT_API_URL"] = url
        yield url
    finally:
        os.environ.pop("PREFECT_API_URL", None)
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def classify_task_runner(settings: Settings) -> Any:
    """The classify flow's task runner: Prefect's thread pool unless Dask is configured
    (``task_runner = "dask"``, optionally ``dask_address`` of an existing cluster)."""
    choice = settings.extra.get("task_runner") or os.environ.get("LM_TASK_RUNNER", "threads")
    if choice != "dask":
        return None
    from prefect_dask.task_runners import DaskTaskRunner

    address = settings.extra.get("dask_address") or os.environ.get("LM_DASK_ADDRESS")
    if address:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(cluster_kwargs={"n_workers": 2, "threads_per_worker": 1})


def serve_flows(settings: Settings) -> None:
    """Register every scheduled flow with the API and run them until interrupted."""
    from prefect import serve
    from prefect.schedules import Cron

    from flows import pipeline

    flows: dict[str, Any] = {
        "ingest-feedback": pipeline.ingest_feedback_flow,
        "ingest-api": pipeline.ingest_api_flow,
        "ingest-progress": pipeline.ingest_progress_flow,
        "classify": pipeline.classify_flow,
        "supervision": pipeline.supervision_flow,
    }
    runner = classify_task_runner(settings)
    if runner is not None:
        flows["classify"] = pipeline.classify_flow.with_options(task_runner=runner)
    deployments = []
    for planned in schedules_from_settings(settings):
        flow_obj = flows[planned.name]
        if planned.name == "ingest-feedback":
            for channel in pipeline.CHANNELS:  # one deployment per inbox
                deployments.append(
                    flow_obj.to_deployment(
                        name=f"{planned.name}-{channel}",
                        schedule=Cron(planned.cron, timezone=TIMEZONE),
                        parameters={**planned.parameters, "channel": channel},
                    )
                )
            continue
        deployments.append(
            flow_obj.to_deployment(
                name=planned.name,
                schedule=Cron(planned.cron, timezone=TIMEZONE),
                parameters=planned.parameters,
            )
        )
    serve(*deployments)
