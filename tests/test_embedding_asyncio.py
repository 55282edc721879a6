"""The asyncio face against the chaos gateway: READY, dispatches in order, send, resume after op 7
+ 4009, a fatal ban, a clean stop; and ``join()`` after a ban returns.

The test's event loop is a plain ``asyncio.run`` (no gevent, no monkey-patching); the runtime
runs in its own thread. The judge of order and loss is the gateway's record of what it pushed.
"""

from __future__ import annotations

import asyncio
from typing import Any, Iterator

import pytest

from qqgate import core
from qqgate.io_shell import AsyncGatewayClient, C2CMessage, GatewayClient, GatewayFailed

from _chaos import bounded, shell_config, start_gateway, wait_for

try:
    from qqgate.replay.world import Ban, ServerReconnect
except ImportError:  # pragma: no cover
    Ban = ServerReconnect = None


@pytest.fixture(autouse=True)
def _bounded() -> Iterator[None]:
    yield from bounded(60)


@pytest.fixture
def chaos() -> Iterator[Any]:
    gateway = start_gateway()
    yield gateway
    gateway.stop()


def test_async_client_ready_in_order_send_resume_and_clean_stop(chaos: Any) -> None:
    statuses: list[str] = []
    seen: list[int] = []

    async def on_status(change: core.StatusChanged) -> None:  # a coroutine hook
        statuses.append(change.phase.value)

    async def main() -> tuple[list[C2CMessage], Any, bool, list[Any]]:
        events: list[C2CMessage] = []
        client = AsyncGatewayClient(shell_config(chaos.http_base), on_status=on_status)
        async with client:
            status = await client.wait_ready(timeout_s=10)
            assert status.ready and status.phase == "READY"
            reconnected = False
            async for event in client:
                seen.append(event.seq)
                if not isinstance(event, C2CMessage):
                    assert event.event_type in ("READY", "RESUMED") and event.problem is None, event
                    continue
                events.append(event)
                if len(events) == 3:
                    sent = await client.reply(event, f"echo: {event.content}")
                    assert sent.id and sent.id.startswith("ROBOT1.0_chaos")
                if len(events) == 10 and not reconnected:
                    reconnected = True
                    chaos.trigger(ServerReconnect(at=0))  # op 7, then close 4009
                if len(events) >= 40:
                    break
            mid = client.status()
            clean = await client.stop()
            rest = [e async for e in client]  # the iteration ends once the client has ended
        return events, mid, clean, rest

    events, mid, clean, rest = asyncio.run(main())
    assert clean is True and rest == []
    seqs = [e.seq for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs
    assert seen[0] == 1, "READY first (s = 1 on a new session)"
    pushed = [msg_id for _at, msg_id in chaos.pushed]
    assert [e.id for e in events] == pushed[:len(events)], "delivered in the order pushed, none lost or doubled"
    assert mid.counters["identifies_sent"] == 1 and mid.counters["resumes_sent"] == 1 and mid.conn == 2
    assert chaos.events_of("server_session_cycle"), "the gateway sent op 7 and closed with 4009"
    replies = [m for m in chaos.sent_messages if m.kind == "c2c"]
    assert len(replies) == 1 and replies[0].msg_id == events[2].id and replies[0].body["msg_seq"] == 1
    assert replies[0].target == events[2].user_openid and replies[0].content == "echo: hello"
    assert statuses[-1] == "STOPPED" and "READY" in statuses and "RESUMING" in statuses


def test_async_client_fatal_on_ban_is_awaitable_and_a_hook(chaos: Any) -> None:
    fatals: list[core.Fatal] = []

    async def main() -> tuple[core.Fatal | None, bool, str]:
        client = AsyncGatewayClient(shell_config(chaos.http_base), on_fatal=fatals.append)
        async with client:
            await client.wait_ready(timeout_s=10)
            chaos.trigger(Ban(at=0, code=4915, reason="bot banned"))
            final = await asyncio.wait_for(client.wait_closed(), 10)
            with pytest.raises(GatewayFailed) as failed:
                await client.wait_ready(timeout_s=5)
            assert failed.value.fatal == final
            return final, client.running, client.status().phase

    final, running, phase = asyncio.run(main())
    assert final is not None and final.close_code == 4915 and not final.retryable
    assert fatals and fatals[-1] == final
    assert running is False and phase == "FAILED"


def test_join_after_a_ban_returns(chaos: Any) -> None:
    client = GatewayClient(shell_config(chaos.http_base), on_dispatch=lambda d: None)
    client.start()
    try:
        wait_for(client.is_ready, 10, "READY")
        chaos.trigger(Ban(at=0, code=4914, reason="bot taken down"))
        assert client.join(timeout_s=10) is True
        assert client.running is False and client.status().phase == "FAILED"
        assert client.join() is True  # again, and without a timeout: it has ended
    finally:
        client.stop(timeout_s=3)


def test_start_outside_a_running_loop_fails_loudly() -> None:
    client = AsyncGatewayClient(shell_config("http://127.0.0.1:9"))
    with pytest.raises(RuntimeError):
        client.start().send(None)  # no running event loop: asyncio refuses at once
