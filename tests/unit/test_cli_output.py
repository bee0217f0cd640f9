"""What the CLI prints where there is no terminal (a pipe, a CI log, NO_COLOR): readable as plain text."""

from __future__ import annotations

import io

from rich.console import Console

from bluegreen.cli.progress import bar, console


def test_the_traffic_bar_tells_the_versions_apart_without_colour() -> None:
    plain = Console(file=io.StringIO(), no_color=True, width=200)
    plain.print(bar(10))
    text = plain.file.getvalue().strip()  # type: ignore[attr-defined]
    assert text == "█" * 27 + "░" * 3


def test_piped_lines_are_not_cut_at_80_columns() -> None:
    piped = console()  # stdout is not a terminal under pytest
    piped.file = io.StringIO()
    line = "Shifted: " + "x" * 150 + " old 90% | new 10%"
    piped.print(line)
    assert piped.file.getvalue() == line + "\n"
