"""What every part of the command line shares: the handler and ``add`` shapes, and printing."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any, Protocol

from livelihood_monitor.config import Settings

Handler = Callable[[argparse.Namespace, Settings], int]


class AddCommand(Protocol):
    """The ``add(name, help, handler, parent)`` helper of ``cli.build_parser``."""

    def __call__(
        self,
        name: str,
        help_text: str,
        handler: Handler,
        parent: argparse._SubParsersAction[Any] = ...,
    ) -> argparse.ArgumentParser: ...


def out(text: str) -> None:
    print(text, flush=True)


def err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
