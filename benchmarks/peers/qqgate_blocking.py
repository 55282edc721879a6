"""A qqgate bot (``Bot``, plain process, no monkey-patching) whose handler blocks on every message.

Usage: python qqgate_blocking.py HTTP_BASE BLOCK_S {sleep,cpu}

Each C2C message's handler blocks for BLOCK_S seconds: ``time.sleep`` (a synchronous call) or a
CPU-bound loop. Prints ``{"event": "blocked", "t0", "t1"}`` per handler run. SIGTERM exits.
"""

from __future__ import annotations

import os
import signal
import sys
import time

from qqgate import Bot, C2CMessage, ShellConfig, core

from benchmarks.peers._selfmeasure import say


def main(argv: list[str]) -> int:
    if len(argv) != 4 or argv[3] not in ("sleep", "cpu"):
        print(__doc__, file=sys.stderr)
        return 2
    base, block_s, mode = argv[1], float(argv[2]), argv[3]
    bot = Bot(ShellConfig(app_id="102000001", client_secret="chaos-secret", api_base=base,
                          token_url=base + "/app/getAppAccessToken", core=core.Config(seed=7)))

    @bot.on("C2C_MESSAGE_CREATE")
    def block(message: C2CMessage) -> None:
        t0 = time.monotonic()
        if mode == "sleep":
            time.sleep(block_s)
        else:
            x = 0
            while time.monotonic() - t0 < block_s:
                x += 1
        say(event="blocked", t0=t0, t1=time.monotonic())

    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    bot.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
