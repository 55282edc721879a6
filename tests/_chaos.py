"""Shared by the embedding tests: a chaos gateway on 127.0.0.1 and configs that point at it.

The gateway is time-scaled so that Hello says 500 ms (``SCALE``); every test using it is bounded
by an alarm (``bounded``).
"""

from __future__ import annotations

import signal
import time
from typing import Any, Callable, Iterator

import pytest

from qqgate import core
from qqgate.io_shell import ShellConfig

try:
    from qqgate.replay.world import WorldSpec
    from qqgate.replay.world.gateway import ChaosGateway
except ImportError:  # pragma: no cover - the gateway extra is missing
    ChaosGateway = None

APP_ID = "102000777"
SECRET = "embed-secret-PLUGH-31"
INTERVAL_S = 0.5
SCALE = 41250 / 500
"""The model's 41 250 ms Hello becomes 500 ms."""


def start_gateway(**world: Any) -> Any:
    """A chaos gateway in a thread of its own (calm world, no op 7 cycle unless asked)."""
    if ChaosGateway is None:
        pytest.skip("the chaos gateway needs the 'gateway' extra (wsproto, h11)")
    fields: dict[str, Any] = dict(message_interval_s=2.0, session_cycle_s=None, latency_s=0.0)
    fields.update(world)
    return ChaosGateway(WorldSpec(**fields), time_scale=SCALE).start_in_thread()


def core_config(**fields: Any) -> core.Config:
    base: dict[str, Any] = dict(seed=11, open_floor_s=0.05, backoff_base_s=0.05, backoff_cap_s=0.2,
                                connect_timeout_s=2.0, hello_timeout_s=2.0, ready_timeout_s=2.0,
                                request_timeout_s=3.0)
    base.update(fields)
    return core.Config(**base)


def shell_config(http_base: str, app_id: str = APP_ID, secret: str = SECRET, **fields: Any) -> ShellConfig:
    core_fields = fields.pop("core_fields", {})
    values: dict[str, Any] = dict(app_id=app_id, client_secret=secret, api_base=http_base,
                                  token_url=http_base + "/app/getAppAccessToken", request_timeout_s=2.0,
                                  close_timeout_s=0.5, core=core_config(**core_fields))
    values.update(fields)
    return ShellConfig(**values)


def wait_for(pred: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not pred():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.005)


def bounded(seconds: int) -> Iterator[None]:
    """Raise AssertionError in the main thread after ``seconds`` (a generator for a fixture)."""
    def expired(_sig: int, _frame: Any) -> None:
        raise AssertionError(f"test exceeded {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
