"""Settings: defaults, then an optional TOML file, then ``LM_*`` environment variables.

Operators configure a deployment without touching code; tests pass explicit values instead.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = Path(__file__).resolve().parent
SAMPLE_DATA_DIR = PACKAGE_DIR / "sample_data"
DEFAULT_REGISTRY = SAMPLE_DATA_DIR / "registry" / "projects-2025.csv"
DEFAULT_YEAR = 2025


def warehouse_sql_dir() -> Path:
    """Where the warehouse SQL lives: the repo's ``warehouse/`` or, in a wheel, a packaged copy."""
    packaged = PACKAGE_DIR / "_warehouse"
    return packaged if packaged.is_dir() else REPO_ROOT / "warehouse"


@dataclass(frozen=True)
class Settings:
    warehouse: Path = REPO_ROOT / "warehouse" / "livelihood.duckdb"
    data_dir: Path = REPO_ROOT / "var"
    year: int = DEFAULT_YEAR
    users_file: Path | None = None
    letter_prefix: str = "扬人常民函"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def resolved_users_file(self) -> Path:
        return self.users_file or self.data_dir / "users.toml"


_ENV = {
    "warehouse": "LM_WAREHOUSE",
    "data_dir": "LM_DATA_DIR",
    "year": "LM_YEAR",
    "users_file": "LM_USERS_FILE",
    "letter_prefix": "LM_LETTER_PREFIX",
}


def _coerce(name: str, value: Any) -> Any:
    if name in {"warehouse", "data_dir", "users_file"}:
        return Path(value).expanduser()
    if name == "year":
        return int(value)
    return value


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Read settings. ``LM_CONFIG`` or ``./livelihood-monitor.toml`` names the optional file."""
    settings = Settings()
    path = config_file or Path(os.environ.get("LM_CONFIG", "livelihood-monitor.toml"))
    known = {f.name for f in fields(Settings)} - {"extra"}
    if path.is_file():
        with path.open("rb") as fh:
            data = tomllib.load(fh)
        section = data.get("livelihood_monitor", data)
        values = {k: _coerce(k, v) for k, v in section.items() if k in known}
        extra = {k: v for k, v in section.items() if k not in known}
        settings = replace(settings, **values, extra=extra)
    env_values = {k: _coerce(k, os.environ[v]) for k, v in _ENV.items() if os.environ.get(v)}
    explicit = {k: _coerce(k, v) for k, v in overrides.items() if v is not None}
    return replace(settings, **{**env_values, **explicit})  # explicit values win over env
