"""An unmodified botpy 1.2.1 bot whose message handler blocks, pointed at a local gateway.

Usage: python botpy_blocking.py HTTP_BASE BLOCK_S {sleep,cpu}

botpy runs its handlers on its own asyncio loop, the one that sends heartbeats; each C2C
message's handler blocks for BLOCK_S seconds (``time.sleep``, a synchronous call, or a CPU
loop), as a handler calling a synchronous LLM client would. Pointed at the gateway as
tests/peers/botpy_echo.py is. Prints ``{"event": "blocked", "t0", "t1"}`` per handler run.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import botpy  # type: ignore[import-untyped, unused-ignore]
from botpy.message import C2CMessage  # type: ignore[import-untyped, unused-ignore]

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "peers"))
from botpy_echo import point_at  # noqa: E402

from benchmarks.peers._selfmeasure import say  # noqa: E402

BLOCK = {"s": 0.0, "mode": "sleep"}


class BlockingBot(botpy.Client):  # type: ignore[misc, unused-ignore]
    async def on_c2c_message_create(self, message: C2CMessage) -> None:
        t0 = time.monotonic()
        if BLOCK["mode"] == "sleep":
            time.sleep(float(BLOCK["s"]))
        else:
            x = 0
            while time.monotonic() - t0 < float(BLOCK["s"]):
                x += 1
        say(event="blocked", t0=t0, t1=time.monotonic())


def main(argv: list[str]) -> int:
    if len(argv) != 4 or argv[3] not in ("sleep", "cpu"):
        print(__doc__, file=sys.stderr)
        return 2
    point_at(argv[1])
    BLOCK["s"], BLOCK["mode"] = float(argv[2]), argv[3]
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    intents = botpy.Intents.none()
    intents.public_messages = True  # GROUP_AND_C2C_EVENT, 1 << 25
    BlockingBot(intents=intents, timeout=5).run(appid="102000001", secret="chaos-secret")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
