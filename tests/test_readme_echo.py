"""README's echo bot runs as written against the chaos gateway, and the example adapter works.

The echo bot is the ``python`` block after ``<!-- echo-bot -->`` in README.md, written to a file
unchanged and run as a separate process whose environment points it at a chaos gateway on
127.0.0.1 (QQ_API_BASE, QQ_TOKEN_URL); the judge is the gateway's record of the messages it was
sent. Ctrl-C (SIGINT) must end it cleanly with exit status 0.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from _chaos import bounded, shell_config, start_gateway, wait_for

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _bounded() -> Iterator[None]:
    yield from bounded(60)


def readme_block(marker: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(re.escape(marker) + r"\s*```python\n(.*?)```", text, re.S)
    assert match, f"no python block after {marker} in README.md"
    return match.group(1)


def test_the_readme_echo_bot_runs_as_written(tmp_path: Path) -> None:
    code = readme_block("<!-- echo-bot -->")
    assert len(code.strip().splitlines()) <= 15, "the README echo bot must stay within 15 lines"
    script = tmp_path / "echo_bot.py"
    script.write_text(code, encoding="utf-8")
    gateway = start_gateway()
    env = dict(os.environ, QQ_APP_ID="102000888", QQ_CLIENT_SECRET="readme-secret-XYZZY",
               QQ_API_BASE=gateway.http_base, QQ_TOKEN_URL=gateway.http_base + "/app/getAppAccessToken",
               PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, str(script)], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: len([m for m in gateway.sent_messages if m.content == "echo: hello"]) >= 3 or
                 proc.poll() is not None, 30, "three echoes")
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        gateway.stop()
    assert proc.returncode == 0, err[-2000:]
    assert "Traceback" not in err and "readme-secret-XYZZY" not in out + err
    echoes = [m for m in gateway.sent_messages if m.content == "echo: hello"]
    pushed = [msg_id for _at, msg_id in gateway.pushed]
    assert all(m.kind == "c2c" and m.msg_id in pushed and m.body["msg_seq"] == 1 for m in echoes)
    assert len({m.msg_id for m in echoes}) == len(echoes), "one reply per message"
    assert gateway.token_requests == 1, "the connection and the sender shared one token"


def test_the_example_adapter_connects_receives_sends_and_disconnects() -> None:
    spec = importlib.util.spec_from_file_location("qq_adapter", ROOT / "examples" / "qq_adapter.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["qq_adapter"] = module
    spec.loader.exec_module(module)
    assert len((ROOT / "examples" / "qq_adapter.py").read_text().splitlines()) <= 80
    gateway = start_gateway()

    async def main() -> tuple[list[Any], Any, Any, bool]:
        got: list[Any] = []
        arrived = asyncio.Event()

        async def on_message(event: Any) -> None:
            got.append(event)
            arrived.set()

        adapter = module.QQAdapter(shell_config(gateway.http_base), on_message)
        assert await adapter.connect() is True and adapter.connected
        await asyncio.wait_for(arrived.wait(), 10)
        first = got[0]
        result = await adapter.send(first.chat_id, "on it", reply_to=first.message_id)
        bad = await adapter.send("irc:#qq", "no")
        await adapter.disconnect()
        return got, result, bad, adapter.connected

    try:
        got, result, bad, connected = asyncio.run(main())
    finally:
        gateway.stop()
    first = got[0]
    assert first.chat_id == "c2c:E4F4AEA33253A2797FB897C50B81D7ED" and first.text == "hello"
    assert result.success and result.message_id
    assert not bad.success and "not a QQ chat id" in bad.error
    assert connected is False
    sent = [m for m in gateway.sent_messages if m.content == "on it"]
    assert len(sent) == 1 and sent[0].msg_id == first.message_id and sent[0].kind == "c2c"
