"""The core is pure: no I/O, clock or randomness imports, and a deterministic step function.

The journal format (core/journal/) is held to the same rules: it reads lines it is given and
replays them through a reducer it is given, so a journal is decoded the same way everywhere."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from qqgate import core
from qqgate.core import journal
from qqgate.core import Config, SessionStartLimit, initial_state
from qqgate.core import (
    ConnectFailed, DispatchSettled, FrameReceived, GatewayResolved, SocketClosed, SocketOpened,
    Start, Tick, TokenIssued,
)
from conftest import dispatch_text, hello_text, ready_text

ROOT = Path(__file__).resolve().parent.parent
CORE_DIR = ROOT / "core"

FORBIDDEN_LOADED = {
    "gevent", "websocket", "socket", "ssl", "sqlite3", "eventsourcing", "time", "random",
    "asyncio", "threading", "select", "selectors", "urllib.request", "http.client", "requests",
    "datetime", "logging.handlers", "subprocess", "secrets", "uuid", "multiprocessing",
    "concurrent.futures", "wsproto", "httpx", "aiohttp", "urllib3",
}
FORBIDDEN_IMPORTS = FORBIDDEN_LOADED | {"os", "sys", "logging", "io", "pathlib", "shutil", "signal",
                                        "tempfile", "urllib", "http", "importlib"}
FORBIDDEN_CALLS = {"open", "print", "input", "exec", "eval", "breakpoint", "__import__"}

# orjson (the core's one third-party dependency) imports datetime, uuid and friends itself,
# at import time, only to recognise those types when serialising; the core must add nothing.
_PROBE = r"""
import json, sys
sys.path.insert(0, {root!r})
import orjson
baseline = set(sys.modules)
import {module}
new = sorted(set(sys.modules) - baseline)
print(json.dumps({{"new": new, "stdlib": sorted(sys.stdlib_module_names)}}))
"""


def _new_modules(module: str = "qqgate.core") -> tuple[list[str], set[str]]:
    proc = subprocess.run([sys.executable, "-I", "-c", _PROBE.format(root=str(ROOT), module=module)],
                          capture_output=True, text=True, timeout=60, cwd=str(ROOT))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    return data["new"], set(data["stdlib"])


@pytest.mark.parametrize("module, part", [("qqgate.core", "qqgate.core._step"),
                                          ("qqgate.core.webhook", "qqgate.core.webhook._step"),
                                          ("qqgate.core.journal", "qqgate.core.journal._verify")])
def test_importing_core_loads_no_io_clock_or_randomness_module(module: str, part: str) -> None:
    new, _ = _new_modules(module)
    assert module in new and part in new        # the probe really imported it
    hits = sorted(m for m in new if m in FORBIDDEN_LOADED or m.split(".")[0] in FORBIDDEN_LOADED)
    assert hits == [], f"importing {module} loaded {hits}"


@pytest.mark.parametrize("module", ["qqgate.core", "qqgate.core.webhook", "qqgate.core.journal"])
def test_importing_core_loads_only_stdlib_and_orjson(module: str) -> None:
    new, stdlib = _new_modules(module)
    foreign = sorted({m.split(".")[0] for m in new} - stdlib - {"qqgate", "orjson"})
    assert foreign == [], f"importing {module} loaded third-party packages {foreign}"


def test_the_core_does_not_load_its_journal_format() -> None:
    new, _ = _new_modules("qqgate.core")
    assert not [m for m in new if m.startswith(("qqgate.core.journal", "qqgate.core.webhook"))]


def test_import_probe_detects_a_forbidden_import() -> None:
    """The subprocess probe itself works: a newly imported I/O module is seen."""
    code = ("import sys, json; b=set(sys.modules); import sqlite3; "
            "print(json.dumps(sorted(set(sys.modules)-b)))")
    proc = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=60)
    assert "sqlite3" in json.loads(proc.stdout)


def _core_sources() -> list[Path]:
    files = sorted(CORE_DIR.rglob("*.py"))  # core/, the webhook reducer and the journal format
    assert len(files) >= 10 and {"journal", "webhook"} <= {p.parent.name for p in files}
    return files


SUSPECT_METHODS = {"urandom", "getrandbits", "randbytes", "monotonic", "monotonic_ns", "perf_counter",
                   "time_ns", "utcnow", "sleep"}


def scan(source: str) -> list[str]:
    """Every forbidden import or call in ``source``."""
    bad = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        hits = [n for n in names if any(".".join(n.split(".")[:i]) in FORBIDDEN_IMPORTS
                                        for i in range(1, n.count(".") + 2))]
        if hits:
            bad.append(f"line {node.lineno}: import {hits[0]}")
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in FORBIDDEN_CALLS:
                bad.append(f"line {node.lineno}: call {func.id}(")
            if isinstance(func, ast.Attribute) and func.attr in SUSPECT_METHODS:
                bad.append(f"line {node.lineno}: call .{func.attr}(")
    return bad


@pytest.mark.parametrize("path", _core_sources(), ids=lambda p: str(p.relative_to(CORE_DIR)))
def test_core_source_imports_and_calls_nothing_impure(path: Path) -> None:
    assert scan(path.read_text()) == []


def test_scan_catches_forbidden_code() -> None:
    """The scanner is not vacuous."""
    sample = ("import time\nfrom os import urandom\nimport random as r\nfrom datetime import datetime\n"
              "import secrets, uuid\nfrom urllib.request import urlopen\nprint('x')\nopen('f')\n"
              "input()\nx = t.monotonic()\nfrom . import _frames\nimport dataclasses\n")
    found = scan(sample)
    assert len(found) == 10, found
    assert not any("_frames" in f or "dataclasses" in f for f in found)


# ---------------------------------------------------------------------------------------
# Determinism


def _script(conn_after_open: int = 1) -> list:
    return [
        Start(0.0), TokenIssued(0.1, "tok", 7200.0),
        GatewayResolved(0.2, "wss://gw/ws", SessionStartLimit(1000, 1000, 86_400_000, 1)),
        SocketOpened(0.3, 1), FrameReceived(0.4, 1, hello_text(41_250)),
        FrameReceived(0.5, 1, ready_text("sess", 1)),
        FrameReceived(1.0, 1, dispatch_text(2, "m2")), DispatchSettled(1.1, 2, 1),
        Tick(30.0), Tick(45.0), FrameReceived(45.1, 1, '{"op":11}'), Tick(90.0), Tick(140.0),
        SocketClosed(141.0, 1, 1006), Tick(142.0), Tick(150.0), ConnectFailed(150.0, 2, "x"),
        Tick(170.0), Tick(200.0), SocketOpened(200.0, 3), FrameReceived(200.1, 3, hello_text(30_000)),
        FrameReceived(200.2, 3, b"garbage"), Tick(260.0), Tick(400.0),
    ]


def _run(seed: int, inputs: list) -> tuple:
    state = initial_state(Config(seed=seed))
    trace = []
    for inp in inputs:
        state, cmds = core.step(state, inp)
        trace.append((cmds, core.next_deadline(state)))
    return state, trace


@pytest.mark.parametrize("seed", [0, 1, 2**63, 123456789])
def test_same_seed_and_inputs_give_identical_states_and_commands(seed: int) -> None:
    state_a, trace_a = _run(seed, _script())
    state_b, trace_b = _run(seed, _script())
    assert state_a == state_b
    assert trace_a == trace_b
    # and through the journal codec, too
    enc_a = [[journal.encode_command(c) for c in cmds] for cmds, _ in trace_a]
    enc_b = [[journal.encode_command(c) for c in cmds] for cmds, _ in trace_b]
    assert json.dumps(enc_a, sort_keys=True, default=str) == json.dumps(enc_b, sort_keys=True, default=str)


def test_different_seeds_give_different_jitter() -> None:
    traces = {repr(_run(seed, _script())[1]) for seed in range(6)}
    assert len(traces) > 1


def test_step_does_not_mutate_its_input_state() -> None:
    state = initial_state(Config(seed=5))
    snapshots = []
    for inp in _script():
        snapshots.append((state, repr(state)))
        state, _ = core.step(state, inp)
    for old, text in snapshots:
        assert repr(old) == text
