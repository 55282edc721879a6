"""What ``qqgate run`` does: connect one bot to the QQ gateway and print what happens.

Credentials come from QQ_APP_ID and QQ_CLIENT_SECRET (never from the command line, so they
stay out of shell history and ``ps``). One line per status change, dispatch and Fatal on
stdout; logs on stderr. Ctrl-C (SIGINT) or SIGTERM stops cleanly: close 1000, journal
flushed. Exit status: 0 after a clean stop, 1 when the client failed for good (a fatal
close code, refused credentials), 2 on bad usage (missing credentials, unusable journal
target).

No monkey-patching: the runtime runs in its own thread (``io_shell._hub``); the main thread
waits for a signal, the duration or the client's end, and prints from the callbacks. Every
printed line goes through the client's redactor. Its options are parsed by the command line
(``qqgate.cli``).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from typing import Any

DEFAULT_JOURNAL = "./qqgate-journal.sqlite"


def _stamp() -> str:
    now = time.time()
    return time.strftime("%H:%M:%S", time.localtime(now)) + f".{int(now % 1 * 1000):03d}"


def run(*, sandbox: bool = False, api_base: str | None = None, token_url: str | None = None,
        insecure: bool = False, journal: str | None = None, no_journal: bool = False,
        intents: int | None = None, duration_s: float | None = None, seed: int | None = None,
        log_level: str = "warning", transport: str = "websocket", listen: tuple[str, int] | None = None,
        timestamp_window_s: float | None = None) -> int:
    """Run the gateway until Ctrl-C, SIGTERM, ``duration_s`` seconds or a final Fatal; return the
    exit status (0 after a clean stop, 1 after a final Fatal, 2 on bad usage).

    ``transport`` "webhook" receives QQ's HTTP callbacks on ``listen`` (host, port) instead
    (``io_shell.webhook._run``; ``timestamp_window_s`` is its replay guard); the REST options
    do not apply to it.

    ``api_base``/``token_url`` None: the production (``sandbox``: the sandbox) endpoints;
    ``insecure``: no TLS verification, and cleartext endpoints off this machine allowed;
    ``journal``: a SQLite path or postgresql:// URL (None: DEFAULT_JOURNAL), ``no_journal``
    to journal nothing; ``intents`` None: the core's default; ``seed`` None: a random one;
    ``log_level``: debug, info, warning or error (stderr).
    """
    if transport == "webhook":
        from .webhook._run import run_webhook
        return run_webhook(listen=listen or ("127.0.0.1", 8443), journal=journal, no_journal=no_journal,
                           duration_s=duration_s, log_level=log_level, timestamp_window_s=timestamp_window_s)
    import orjson

    from qqgate import core

    from ._client import GatewayClient
    from ._config import DEFAULT_API_BASE, DEFAULT_TOKEN_URL, SANDBOX_API_BASE, ShellConfig, ShellConfigError

    logging.basicConfig(level=getattr(logging, log_level.upper()), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    core_fields: dict[str, Any] = {"seed": seed if seed is not None else int.from_bytes(os.urandom(4), "big")}
    if intents is not None:
        core_fields["intents"] = intents
    try:
        config = ShellConfig.from_env(
            api_base=api_base or (SANDBOX_API_BASE if sandbox else DEFAULT_API_BASE),
            token_url=token_url or DEFAULT_TOKEN_URL, verify_tls=not insecure, insecure=insecure,
            core=core.Config(**core_fields), journal=None if no_journal else (journal or DEFAULT_JOURNAL))
    except (ShellConfigError, core.ConfigError) as exc:
        print(f"qqgate run: {exc}", file=sys.stderr)
        return 2

    done = threading.Event()
    failed: list[core.Fatal] = []
    printing = threading.Lock()
    holder: list[GatewayClient] = []

    def say(text: str) -> None:
        line = f"{_stamp()} {holder[0].redact(text) if holder else text}"
        with printing:
            print(line, flush=True)

    def on_status(change: core.StatusChanged) -> None:
        say(f"status {change.phase.value}: {change.detail}")

    def on_fatal(fatal: core.Fatal) -> None:
        code = f" (close {fatal.close_code})" if fatal.close_code is not None else ""
        say(f"FATAL {'retryable' if fatal.retryable else 'final'}{code}: {fatal.reason}")
        if not fatal.retryable:
            failed.append(fatal)
            done.set()

    def on_dispatch(dispatch: core.Dispatch) -> None:
        body = holder[0].redact(orjson.dumps(dispatch.data).decode("utf-8", "replace"))
        if len(body) > 300:
            body = body[:297] + "..."
        say(f"dispatch s={dispatch.seq} {dispatch.event_type} id={dispatch.event_id}: {body}")

    client = GatewayClient(config, on_dispatch=on_dispatch, on_fatal=on_fatal, on_status=on_status)
    holder.append(client)
    previous = {sig: signal.signal(sig, lambda _sig, _frame: done.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            client.start()
        except Exception as exc:  # noqa: BLE001 - an unusable journal target is a usage error
            print(f"qqgate run: cannot start: {client.redact(str(exc))}", file=sys.stderr)
            return 2
        if client.journal_session_id is not None:
            say(f"journal {config.journal} session {client.journal_session_id}")
        deadline = None if duration_s is None else time.monotonic() + duration_s
        while not done.is_set() and client.running:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            done.wait(0.5 if left is None else min(0.5, left))
        clean = client.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    status = client.status()
    counters = status.counters
    say(f"stopped: phase={status.phase} dispatches={counters.get('dispatches_delivered', 0)} "
        f"heartbeats={counters.get('heartbeats_sent', 0)} acks={counters.get('heartbeat_acks', 0)} "
        f"reconnects={max(0, counters.get('sockets_opened', 0) - 1)} "
        f"handler_errors={counters.get('handler_errors', 0)}" + ("" if clean else " (driver killed)"))
    return 1 if failed or status.phase == "FAILED" else 0
