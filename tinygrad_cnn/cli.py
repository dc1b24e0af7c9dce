"""Command-line pieces for programs like models/mnist.py: a mistake is one `error:` line, --help
shows real defaults, numbers are checked where they are parsed, and the flags a user typed."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence


class Parser(argparse.ArgumentParser):
    """argparse that reports a mistake as one `error:` line with exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """--help shows each flag's default (when it has one) and keeps an epilog's lines as written."""

    def _get_help_string(self, action: argparse.Action) -> str:
        hidden = action.default is None or action.default is False  # 0 is a default, shown
        if hidden or action.default == argparse.SUPPRESS or "default" in (action.help or ""):
            return action.help or ""
        return f"{action.help} (default: %(default)s)"


def number(kind: type, minimum: float, strict: bool = False,
           maximum: float | None = None) -> Callable[[str], float]:
    """An argparse type: `kind` (int or float), finite, >= minimum (> minimum when strict) and
    <= maximum when one is given."""
    def parse(text: str) -> float:
        value = kind(text)
        too_big = maximum is not None and value > maximum
        if not math.isfinite(value) or value < minimum or (strict and value == minimum) or too_big:
            upper = "" if maximum is None else f" and <= {maximum:g}"
            raise argparse.ArgumentTypeError(
                f"must be {'a finite number' if kind is float else 'an integer'} "
                f"{'>' if strict else '>='} {minimum:g}{upper}, got {text}")
        return value
    parse.__name__ = kind.__name__  # argparse names the type in "invalid int value"
    return parse


def typed_flags(argv: Sequence[str]) -> set[str]:
    """The destinations of the long flags in `argv` ("--batch-size=8" -> "batch_size"): what the
    user chose, as opposed to a default (parsers built with allow_abbrev=False)."""
    return {word[2:].split("=")[0].replace("-", "_") for word in argv if word.startswith("--")}
