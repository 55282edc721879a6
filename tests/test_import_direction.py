"""Dependencies point one way: no module imports a part its own part may not import.

The table (README, "Layout"; design.md, "Layout"):

    core            core/                   nothing of qqgate
    journal         core/journal/           core
    io_shell        io_shell/ (+ journal/)  core, journal
    world           replay/world/           core, journal
    replay          replay/ (the rest)      world, journal, core
    checks          replay/checks/          replay, world, journal, core; io_shell.journal in
                                            crash-test's modules only
    cli             qqgate/cli.py, qqgate/_argtypes.py, qqgate/_paths.py, qqgate/__main__.py   everything
    face            qqgate/__init__.py      io_shell (its lazy embedding names)

Every module's imports are read from its source (``ast``): ``import x``, ``from x import y``
(``y`` counts as the submodule ``x.y`` when there is one), relative imports resolved against
the module's package, and imports anywhere in the module (inside functions and ``if
TYPE_CHECKING:`` blocks too). A bare ``core``, ``replay`` or ``io_shell`` is always wrong:
everything imports through the ``qqgate`` names. Lazy imports by name (``importlib``) are not
seen; the face's are the only ones.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FOLDERS = {"core": "qqgate.core", "io_shell": "qqgate.io_shell", "replay": "qqgate.replay"}
"""The card's top-level folders and the names they install under (qqgate/ holds symlinks)."""

PARTS = (  # (module prefix, part): the longest prefix wins
    ("qqgate.core.journal", "journal"), ("qqgate.core", "core"),
    ("qqgate.io_shell", "io_shell"),
    ("qqgate.replay.world", "world"), ("qqgate.replay.checks", "checks"), ("qqgate.replay", "replay"),
    ("qqgate.cli", "cli"), ("qqgate._argtypes", "cli"), ("qqgate._paths", "cli"), ("qqgate.__main__", "cli"),
    ("qqgate", "face"),
)
ALLOWED = {
    "core": {"core"},
    "journal": {"journal", "core"},
    "io_shell": {"io_shell", "journal", "core"},
    "world": {"world", "journal", "core"},
    "replay": {"replay", "world", "journal", "core"},
    "checks": {"checks", "replay", "world", "journal", "core"},
    "cli": {"cli", "face", "checks", "replay", "world", "io_shell", "journal", "core"},
    "face": {"face", "io_shell"},
}
STORE = "qqgate.io_shell.journal"
"""io_shell's journal store: the one piece of io_shell a check may import ..."""
CRASH_TEST = {"qqgate.replay.checks._crash", "qqgate.replay.checks._crash_writer"}
"""... in these modules only (crash-test kills the store's writers and reads what they left)."""
BARE = set(FOLDERS)
CLI_ONLY = {"argparse"}
"""Imported by the CLI alone: no library function takes parsed arguments."""


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    is_package: bool


def modules(root: Path) -> list[Module]:
    """Every module of qqgate under ``root``: the card's folders and qqgate/'s own files."""
    found = []
    for folder, package in FOLDERS.items():
        for path in sorted((root / folder).rglob("*.py")):
            rel = path.relative_to(root / folder).with_suffix("").parts
            is_package = rel[-1] == "__init__"
            name = ".".join((package,) + (rel[:-1] if is_package else rel))
            found.append(Module(name, path, is_package))
    for path in sorted((root / "qqgate").glob("*.py")):  # not the symlinked folders
        is_package = path.stem == "__init__"
        found.append(Module("qqgate" if is_package else f"qqgate.{path.stem}", path, is_package))
    return found


def part_of(name: str) -> str | None:
    for prefix, part in PARTS:
        if name == prefix or name.startswith(prefix + "."):
            return part
    return None


def imports(module: Module, known: set[str]) -> list[tuple[int, str]]:
    """(line, imported module) for every import in ``module``, resolved to absolute names."""
    package = module.name if module.is_package else module.name.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(module.path.read_text(encoding="utf-8"), str(module.path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.append((node.lineno, sub if sub in known else target))
    return found


def violations(root: Path) -> list[str]:
    """Every import against the table under ``root``, as ``path:line: part imports name``."""
    mods = modules(root)
    known = {m.name for m in mods}
    bad = []
    for module in mods:
        part = part_of(module.name)
        where = f"{module.path.relative_to(root)}"
        if part is None:
            bad.append(f"{where}: {module.name} belongs to no part of the table")
            continue
        for line, name in imports(module, known):
            top = name.split(".")[0]
            target = part_of(name) if top == "qqgate" else None
            if top in BARE:
                bad.append(f"{where}:{line}: imports {name} bare (use qqgate.{name})")
            elif top in CLI_ONLY and part != "cli":
                bad.append(f"{where}:{line}: {part} imports {name} (only the CLI parses arguments)")
            elif top != "qqgate" or target in ALLOWED[part]:
                continue
            elif part == "checks" and (name == STORE or name.startswith(STORE + ".")) and module.name in CRASH_TEST:
                continue
            else:
                bad.append(f"{where}:{line}: {part} imports {name} ({target})")
    return bad


def test_every_import_points_the_way_the_table_allows() -> None:
    assert violations(ROOT) == []


def test_the_scan_sees_every_part_and_its_imports() -> None:
    mods = modules(ROOT)
    parts = {part_of(m.name) for m in mods}
    assert parts == set(ALLOWED), parts
    known = {m.name for m in mods}
    seen = {name for m in mods for _, name in imports(m, known)}
    # the checker resolves what these modules really import, relative and from-submodule forms alike
    assert {"qqgate.core.journal", "qqgate.replay.world", "qqgate.io_shell.journal", "qqgate.core"} <= seen
    crash = next(m for m in mods if m.name == "qqgate.replay.checks._crash")
    assert any(name.startswith(STORE) for _, name in imports(crash, known))  # inside a function


PLANTED = {
    "core/__init__.py": "",
    "core/_ok.py": "from . import _other\nfrom .journal import x\n",  # the second is against the rule
    "core/_other.py": "def f():\n    from qqgate.io_shell import GatewayClient\n",
    "core/journal/__init__.py": "from .. import Input\n",
    "core/journal/_up.py": "from ...replay import SCENARIOS\n",
    "io_shell/__init__.py": "",
    "io_shell/_bare.py": "import core\nfrom qqgate import cli\n",
    "io_shell/journal/__init__.py": "from .._cooperative import in_threadpool\nfrom qqgate.core import journal\n",
    "replay/__init__.py": "from .world import WorldSpec\nfrom qqgate.core import journal\n",
    "replay/_ahead.py": "from qqgate.replay.checks import run_seed\nimport argparse\n",
    "replay/world/__init__.py": "if False:\n    import qqgate.io_shell.journal\n",
    "replay/checks/__init__.py": "",
    "replay/checks/_soak.py": "from qqgate.io_shell.journal import open_recorder\n",
    "replay/checks/_crash.py": "def run():\n    from qqgate.io_shell.journal import list_sessions\n"
                               "    from qqgate.io_shell import GatewayClient\n",
    "qqgate/__init__.py": "from .io_shell._client import GatewayClient\n",
    "qqgate/cli.py": "import argparse\nfrom qqgate.replay.checks import run_seed\nfrom qqgate.io_shell import x\n",
}


def test_the_checker_catches_planted_violations(tmp_path: Path) -> None:
    for rel, text in PLANTED.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    found = violations(tmp_path)
    expected = [
        "core/_ok.py:2: core imports qqgate.core.journal (journal)",
        "core/_other.py:2: core imports qqgate.io_shell (io_shell)",
        "core/journal/_up.py:1: journal imports qqgate.replay (replay)",
        "io_shell/_bare.py:1: imports core bare (use qqgate.core)",
        "io_shell/_bare.py:2: io_shell imports qqgate.cli (cli)",
        "replay/_ahead.py:1: replay imports qqgate.replay.checks (checks)",
        "replay/_ahead.py:2: replay imports argparse (only the CLI parses arguments)",
        "replay/world/__init__.py:2: world imports qqgate.io_shell.journal (io_shell)",
        "replay/checks/_soak.py:1: checks imports qqgate.io_shell.journal (io_shell)",
        "replay/checks/_crash.py:3: checks imports qqgate.io_shell (io_shell)",
    ]
    assert sorted(found) == sorted(expected), "\n".join(found)
