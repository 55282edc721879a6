"""What ``qqgate gateway --webhook URL`` does: the chaos gateway in webhook mode, printing what happens.

The gateway's REST side (tokens, the send endpoints) is served on 127.0.0.1 as usual, so a
bot can answer; the events go to URL as signed HTTP callbacks (``world.gateway.ChaosWebhook``)
instead of over a WebSocket. The bot secret comes from QQ_CLIENT_SECRET (never the command
line), the AppID from QQ_APP_ID (default 102000000). It judges as it runs: the exit status is
0 when the URL was validated, every event acknowledged and no forged or replayed copy
accepted, 1 otherwise, 2 on bad usage.
"""

from __future__ import annotations

import os
import signal
import sys
import time

import gevent  # type: ignore[import-untyped, unused-ignore]
import gevent.event  # type: ignore[import-untyped, unused-ignore]

from .world import WorldSpec
from .world.gateway import ChaosGateway, ChaosWebhook, WebhookSpec


def serve_webhook(spec: WebhookSpec, *, port: int, duration_s: float | None, quiet: bool) -> int:
    """Run webhook mode until the stream of ``spec`` ends (``spec.messages`` events), ``duration_s``
    wall seconds pass, or SIGINT/SIGTERM; print notes (unless ``quiet``) and a summary."""
    secret = os.environ.get("QQ_CLIENT_SECRET", "").strip()
    if not secret:
        print("qqgate gateway: --webhook needs QQ_CLIENT_SECRET (the bot's AppSecret signs the callbacks)",
              file=sys.stderr)
        return 2
    started = time.monotonic()

    def note(text: str) -> None:
        if not quiet:
            print(f"{time.monotonic() - started:9.3f}s  webhook  {text}", flush=True)

    try:
        pusher = ChaosWebhook(spec, secret, on_note=note)
    except ValueError as exc:
        print(f"qqgate gateway: {exc}", file=sys.stderr)
        return 2
    gateway = ChaosGateway(WorldSpec(message_interval_s=None), port=port)
    try:
        gateway.start()
    except OSError as exc:
        print(f"qqgate gateway: cannot listen on 127.0.0.1:{port}: {exc}", file=sys.stderr)
        return 2
    print(f"listening on {gateway.http_base} (REST); posting callbacks to {spec.url}", flush=True)
    faults = {name: getattr(spec.faults, name) for name in spec.faults.NAMES if getattr(spec.faults, name)}
    print(f"webhook: {spec.messages if spec.messages is not None else 'endless'} events, ~{spec.interval_s:g} s "
          f"apart, {spec.retries} retries, answer deadline {spec.answer_deadline_s:g} s, faults: "
          f"{', '.join(f'{k}={v:g}' for k, v in faults.items()) or 'none'}", flush=True)
    pusher.start()
    done = gevent.event.Event()
    handlers = [gevent.signal_handler(sig, done.set) for sig in (signal.SIGINT, signal.SIGTERM)]
    deadline = None if duration_s is None else started + duration_s
    try:
        while not done.is_set() and not pusher.done and (deadline is None or time.monotonic() < deadline):
            done.wait(0.1)
    finally:
        for handler in handlers:
            handler.cancel()
        pusher.stop()
        gateway.stop()
    s = pusher.summary()
    print(f"stopped: validated={s['validated']} events={s['events']} acked={s['acked']} given_up={s['given_up']} "
          f"attempts={s['attempts']} late={s['late_answers']} redeliveries={s['redeliveries']} "
          f"attacks_refused={s['attacks_refused']}/{s['attacks']} attacks_accepted={s['attacks_accepted']}", flush=True)
    good = s["validated"] or not spec.validate
    return 0 if good and s["given_up"] == 0 and s["acked"] == s["events"] and s["attacks_accepted"] == 0 else 1
