"""A chaos gateway for the embedding benchmarks, reporting what the server saw as JSON lines.

Usage: python chaos_recorder.py WORLD_JSON [--beats]

WORLD_JSON holds ``WorldSpec`` fields (e.g. ``{"heartbeat_interval_ms": 30000, "max_concurrency":
1000}``); time scale 1. Lines on stdout: ``{"event": "listening", "base": "http://127.0.0.1:PORT"}``,
then with ``--beats`` one ``{"event": "beat", "conn", "t"}`` per client heartbeat (op 1) as it
arrives (``t``: this process's ``time.monotonic()``), and one line per ``ws_ended``,
``server_heartbeat_timeout`` and ``server_established`` event. SIGTERM ends it.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from typing import Any

from qqgate.replay.world import WorldSpec
from qqgate.replay.world.gateway import ChaosGateway, GatewayEvent

from benchmarks.peers._selfmeasure import say

REPORTED = ("ws_ended", "server_heartbeat_timeout", "server_established")


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    fields: dict[str, Any] = json.loads(argv[1])
    beats = "--beats" in argv

    def on_event(event: GatewayEvent) -> None:
        if event.kind in REPORTED:
            say(event=event.kind, t=event.at, **{k: v for k, v in event.fields.items() if k == "conn"})

    gateway = ChaosGateway(WorldSpec(**fields), time_scale=1.0, on_event=on_event).start_in_thread()
    if beats:
        link = gateway.link
        original = link.received

        def received(conn: int, text: str | bytes) -> None:
            try:
                if json.loads(text).get("op") == 1:
                    say(event="beat", conn=conn, t=time.monotonic())
            except Exception:  # noqa: BLE001 - the model judges the frame
                pass
            original(conn, text)

        gateway.call(lambda: setattr(link, "received", received))
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    say(event="listening", base=gateway.http_base)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
