"""Packaging: the wheel ships py.typed and keeps the server-only packages in an extra; a user's
``mypy --strict`` on README's embedding examples and examples/ passes against the installed
wheel; ``qqgate --version`` and ``python -m qqgate``; ``qqgate gateway`` without its extra.

The wheel is built from this checkout (``pip wheel --no-build-isolation``: no download), installed
without dependencies into a fresh virtual environment, and mypy (this environment's) checks the
extracted snippets with ``--python-executable`` pointing at that environment, from a folder where
the checkout is not importable: the types mypy sees are the installed package's.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from qqgate.cli import main

ROOT = Path(__file__).resolve().parent.parent


def embedding_snippets() -> list[str]:
    """Every ``python`` block of README's "Embedding it in a bot" section."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Embedding it in a bot", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MYPYPATH")}


def test_mypy_strict_on_the_readme_examples_against_the_installed_wheel(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                    str(wheels), str(ROOT)], check=True, capture_output=True, timeout=240)
    (wheel,) = wheels.glob("qqgate-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "qqgate/py.typed" in names and "qqgate/io_shell/_asyncio.py" in names and "qqgate/core/_step.py" in names
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert not [r for r in requires if r.split()[1].startswith(("wsproto", "h11")) and "extra ==" not in r]
    assert any(r.startswith("Requires-Dist: wsproto") and 'extra == "gateway"' in r for r in requires)

    venv = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
                   check=True, capture_output=True, timeout=120, env=clean_env())

    work = tmp_path / "user"
    work.mkdir()
    snippets = embedding_snippets()
    assert len(snippets) >= 5
    files = []
    for i, code in enumerate(snippets):
        files.append(work / f"readme_{i}.py")
        files[-1].write_text(code, encoding="utf-8")
    for example in sorted((ROOT / "examples").glob("*.py")):
        files.append(work / example.name)
        files[-1].write_text(example.read_text(encoding="utf-8"), encoding="utf-8")
    wrong = work / "wrong.py"  # proves mypy sees real types, not Any
    wrong.write_text("from qqgate import Bot\n\nBot.from_env().send('c2c', 42)\n", encoding="utf-8")

    def mypy(*paths: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "mypy", "--strict", "--python-executable", str(python),
                               "--no-incremental", *map(str, paths)], cwd=work, capture_output=True,
                              text=True, timeout=300, env=clean_env())

    checked = mypy(*files)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    failed = mypy(wrong)
    assert failed.returncode == 1 and 'incompatible type "int"; expected "str"' in failed.stdout, failed.stdout


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and re.fullmatch(r"qqgate \d+\.\d+\.\d+\S*\n", capsys.readouterr().out)
    done = subprocess.run([sys.executable, "-m", "qqgate", "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("qqgate ")


def test_gateway_without_its_extra_says_what_to_install() -> None:
    code = ("import sys; sys.modules['wsproto'] = None; from qqgate.cli import main; "
            "sys.exit(main(['gateway', '--duration', '1']))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "pip install 'qqgate[gateway]'" in done.stderr and "wsproto" in done.stderr


def test_intents_by_name_on_the_command_line() -> None:
    from qqgate import Intents
    from qqgate._argtypes import intents
    assert intents("GROUP_AND_C2C_EVENT") == 1 << 25
    assert intents("group_and_c2c_event | INTERACTION") == Intents.GROUP_AND_C2C_EVENT | Intents.INTERACTION
    assert intents("GROUP_AND_C2C_EVENT|PUBLIC_GUILD_MESSAGES") == Intents.default() == (1 << 25) | (1 << 30)
    assert intents("0x1000000|GUILDS") == (1 << 24) | 1 and intents("33554432") == 1 << 25
