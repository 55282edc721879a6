"""Tables for the terminal through rich: aligned columns, colour on a terminal, plain text when piped.

``print_table`` writes one table to a stream. On a terminal it draws a header rule and colours
the cells given a style; anywhere else (piped, a file, CI) it writes plain aligned text with no
escape codes and no line drawing, at a fixed width so that the same input gives the same bytes.
"""

from __future__ import annotations

from typing import Sequence, TextIO

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ._progress import on_terminal

PLAIN_WIDTH = 240
"""Columns available to a table that is not on a terminal (no wrapping in logs and pipes)."""

Cell = str | Text


def console_for(out: TextIO) -> Console:
    """A rich console on ``out``: colours and the terminal's width on a terminal; plain text at
    ``PLAIN_WIDTH`` columns anywhere else."""
    if on_terminal(out):
        return Console(file=out, highlight=False, soft_wrap=False, emoji=False)
    return Console(file=out, highlight=False, emoji=False, width=PLAIN_WIDTH, no_color=True,
                   force_terminal=False, color_system=None)


def print_table(out: TextIO, headers: Sequence[str], rows: Sequence[Sequence[Cell]], *,
                indent: int = 0, right: Sequence[int] = ()) -> None:
    """Write a table: ``headers``, then ``rows`` (strings, or rich ``Text`` for colour); the
    columns whose indexes are in ``right`` are right-aligned. ``indent`` spaces before each line."""
    console = console_for(out)
    table = Table(box=box.SIMPLE_HEAD if on_terminal(out) else None, show_edge=False, pad_edge=False,
                  padding=(0, 2, 0, 0), header_style="bold" if on_terminal(out) else "", expand=False)
    for i, header in enumerate(headers):
        table.add_column(header, justify="right" if i in right else "left", no_wrap=True)
    for row in rows:
        table.add_row(*row)
    with console.capture() as captured:
        console.print(table)
    out.write("".join(" " * indent + line.rstrip() + "\n" for line in captured.get().splitlines()))
