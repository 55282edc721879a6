"""What ``qqgate run --transport webhook`` does: receive one bot's callbacks and print what happens.

The same lines as the WebSocket run (one per status change, dispatch and Fatal on stdout, every
line redacted; logs on stderr), the same journal, the same exit statuses: 0 after a clean stop
(Ctrl-C, SIGTERM or ``--duration``), 2 on bad usage (missing credentials, an address that
cannot be bound, an unusable journal target). No monkey-patching: the server runs on the
runtime's own thread (``ReceiverServer``), the main thread waits for a signal or the duration.
The receiver speaks plain HTTP: QQ calls HTTPS on port 80, 443, 8080 or 8443 only, so in
production a TLS reverse proxy on one of them forwards to it (README, "Webhook").
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from typing import Any

DEFAULT_JOURNAL = "./qqgate-journal.sqlite"


def _stamp() -> str:
    now = time.time()
    return time.strftime("%H:%M:%S", time.localtime(now)) + f".{int(now % 1 * 1000):03d}"


def run_webhook(*, listen: tuple[str, int], journal: str | None = None, no_journal: bool = False,
                duration_s: float | None = None, log_level: str = "warning",
                timestamp_window_s: float | None = None, allow_unsigned_validation: bool = False) -> int:
    """Serve the webhook receiver on ``listen`` (host, port) until Ctrl-C, SIGTERM or
    ``duration_s`` seconds; return the exit status (0, or 2 on bad usage).

    ``journal``: a SQLite path or postgresql:// URL (None: DEFAULT_JOURNAL), ``no_journal``
    to journal nothing; ``timestamp_window_s`` None: the reducer's default (300 s).
    """
    import orjson

    from qqgate import core
    from qqgate.core import webhook

    from .._config import ShellConfigError
    from ._config import ALLOWED_PORTS, ReceiverConfig
    from ._receiver import WebhookReceiver
    from ._server import ReceiverServer

    logging.basicConfig(level=getattr(logging, log_level.upper()), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    policy: dict[str, Any] = {"allow_unsigned_validation": allow_unsigned_validation}
    if timestamp_window_s is not None:
        policy["timestamp_window_s"] = timestamp_window_s
    try:
        config = ReceiverConfig.from_env(webhook=webhook.WebhookConfig(**policy),
                                         journal=None if no_journal else (journal or DEFAULT_JOURNAL))
    except (ShellConfigError, core.ConfigError) as exc:
        print(f"qqgate run: {exc}", file=sys.stderr)
        return 2

    done = threading.Event()
    printing = threading.Lock()
    holder: list[WebhookReceiver] = []

    def say(text: str) -> None:
        line = f"{_stamp()} {holder[0].redact(text) if holder else text}"
        with printing:
            print(line, flush=True)

    def on_status(change: core.StatusChanged) -> None:
        say(f"status {change.phase.value}: {change.detail}")

    def on_fatal(fatal: core.Fatal) -> None:
        say(f"FATAL {'retryable' if fatal.retryable else 'final'}: {fatal.reason}")

    def on_dispatch(dispatch: core.Dispatch) -> None:
        body = orjson.dumps(dispatch.data).decode("utf-8", "replace")
        if len(body) > 300:
            body = body[:297] + "..."
        say(f"dispatch s={dispatch.seq} {dispatch.event_type} id={dispatch.event_id}: {body}")

    receiver = WebhookReceiver(config, on_dispatch=on_dispatch, on_fatal=on_fatal, on_status=on_status)
    holder.append(receiver)
    try:
        receiver.start()
    except Exception as exc:  # noqa: BLE001 - an unusable journal target is a usage error
        print(f"qqgate run: cannot start: {receiver.redact(str(exc))}", file=sys.stderr)
        return 2
    host, port = listen
    server = ReceiverServer(receiver, host, port)
    try:
        server.start()
    except OSError as exc:
        print(f"qqgate run: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        receiver.stop()
        return 2
    say(f"listening on {server.url} (webhook; Ed25519 public key {receiver.public_key_hex})")
    if server.port not in ALLOWED_PORTS:
        say(f"note: QQ calls back on ports {', '.join(map(str, ALLOWED_PORTS))} only: "
            "put a TLS reverse proxy on one of them in front of this address")
    if receiver.journal_session_id is not None:
        say(f"journal {config.journal} session {receiver.journal_session_id}")
    if receiver.restored_from is not None:
        counters = receiver.status().counters
        say(f"restored from journal session {receiver.restored_from}: "
            f"{counters.get('restored_deliveries', 0)} unhandled event(s) delivered again")
    previous = {sig: signal.signal(sig, lambda _sig, _frame: done.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        deadline = None if duration_s is None else time.monotonic() + duration_s
        while not done.is_set():
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            done.wait(0.5 if left is None else min(0.5, left))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.stop()
        clean = receiver.stop()
    status = receiver.status()
    counters = status.counters
    say(f"stopped: phase={status.phase} deliveries={counters.get('deliveries', 0)} "
        f"duplicates={counters.get('duplicates_dropped', 0)} "
        f"rejected={counters.get('signature_rejected', 0) + counters.get('stale_rejected', 0)} "
        f"malformed={counters.get('malformed_rejected', 0)} validations={counters.get('validations', 0)} "
        f"handler_errors={counters.get('handler_errors', 0)}" + ("" if clean else " (events left unhandled)"))
    return 0
