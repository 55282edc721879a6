"""What ``qqgate run`` does: connect one bot to the QQ gateway and print what happens.

Credentials come from QQ_APP_ID and QQ_CLIENT_SECRET (never from the command line, so they
stay out of shell history and ``ps``). One line per status change, dispatch and Fatal on
stdout; logs on stderr. Ctrl-C (SIGINT) or SIGTERM stops cleanly: close 1000, journal
flushed. Exit status: 0 after a clean stop, 1 when the client failed for good (a fatal
close code), 2 on bad usage (missing credentials, unusable journal target).

This module imports nothing heavy at import time: ``run`` monkey-patches with gevent
first, then imports the shell (requests, websocket-client, ssl). Its options are parsed by
the command line (``qqgate.cli``).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any

DEFAULT_JOURNAL = "./qqgate-journal.sqlite"


def _stamp() -> str:
    now = time.time()
    return time.strftime("%H:%M:%S", time.localtime(now)) + f".{int(now % 1 * 1000):03d}"


def _say(text: str) -> None:
    print(f"{_stamp()} {text}", flush=True)


def run(*, sandbox: bool = False, api_base: str | None = None, token_url: str | None = None,
        insecure: bool = False, journal: str | None = None, no_journal: bool = False,
        intents: int | None = None, duration_s: float | None = None, seed: int | None = None,
        log_level: str = "warning") -> int:
    """Run the gateway until Ctrl-C, SIGTERM, ``duration_s`` seconds or a fatal close; return the
    exit status (0 after a clean stop, 1 after a final Fatal, 2 on bad usage).

    ``api_base``/``token_url`` None: the production (``sandbox``: the sandbox) endpoints;
    ``insecure``: no TLS verification; ``journal``: a SQLite path or postgresql:// URL (None:
    DEFAULT_JOURNAL), ``no_journal`` to journal nothing; ``intents`` None: the core's default;
    ``seed`` None: a random one; ``log_level``: debug, info, warning or error (stderr).
    """
    from gevent import monkey  # type: ignore[import-untyped]

    if not monkey.is_module_patched("socket"):
        monkey.patch_all()
    import signal

    import gevent
    import gevent.event  # type: ignore[import-untyped]
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
            token_url=token_url or DEFAULT_TOKEN_URL, verify_tls=not insecure,
            core=core.Config(**core_fields), journal=None if no_journal else (journal or DEFAULT_JOURNAL))
    except (ShellConfigError, core.ConfigError) as exc:
        print(f"qqgate run: {exc}", file=sys.stderr)
        return 2

    done: Any = gevent.event.Event()
    failed: list[core.Fatal] = []

    def on_status(change: core.StatusChanged) -> None:
        _say(f"status {change.phase.value}: {change.detail}")

    def on_fatal(fatal: core.Fatal) -> None:
        code = f" (close {fatal.close_code})" if fatal.close_code is not None else ""
        _say(f"FATAL {'retryable' if fatal.retryable else 'final'}{code}: {fatal.reason}")
        if not fatal.retryable:
            failed.append(fatal)
            done.set()

    def on_dispatch(dispatch: core.Dispatch) -> None:
        body = orjson.dumps(dispatch.data).decode("utf-8", "replace")
        if len(body) > 300:
            body = body[:297] + "..."
        _say(f"dispatch s={dispatch.seq} {dispatch.event_type} id={dispatch.event_id}: {body}")

    client = GatewayClient(config, on_dispatch=on_dispatch, on_fatal=on_fatal, on_status=on_status)
    handlers = [gevent.signal_handler(sig, done.set) for sig in (signal.SIGINT, signal.SIGTERM)]
    try:
        try:
            client.start()
        except Exception as exc:  # noqa: BLE001 - an unusable journal target is a usage error
            print(f"qqgate run: cannot start: {exc}", file=sys.stderr)
            return 2
        if client.journal_session_id is not None:
            _say(f"journal {config.journal} session {client.journal_session_id}")
        done.wait(timeout=duration_s)
        clean = client.stop()
    finally:
        for handler in handlers:
            handler.cancel()
    status = client.status()
    counters = status.counters
    _say(f"stopped: phase={status.phase} dispatches={counters.get('dispatches_delivered', 0)} "
         f"heartbeats={counters.get('heartbeats_sent', 0)} acks={counters.get('heartbeat_acks', 0)} "
         f"reconnects={max(0, counters.get('sockets_opened', 0) - 1)} "
         f"handler_errors={counters.get('handler_errors', 0)}" + ("" if clean else " (driver killed)"))
    return 1 if failed else 0
