"""The webhook receiver (io_shell/webhook/): the docs' vectors, rejections, redeliveries, the journal.

Requests go through the WSGI application itself (PEP 3333 environ in, status and body out),
so no server or port is needed; test_webhook_live.py runs it on real sockets.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from qqgate import core
from qqgate.cli import main
from qqgate.core import journal, webhook
from qqgate.io_shell.journal import journal_bytes, read_session
from qqgate.io_shell.webhook import ReceiverConfig, Signer, WebhookReceiver, signing_seed
from qqgate.replay import replay_journal

SECRET = "webhook-secret-7c0d3e9a"
DOCS_SECRET = "DG5g3B4j9X2KOErG"
DOCS_VALIDATION = b'{"d":{"plain_token":"Arq0D5A61EgUu4OxUvOp","event_ts":"1725442341"},"op":13}'
DOCS_SIGNATURE = ("87befc99c42c651b3aac0278e71ada338433ae26fcb24307bdc5ad38c1adc2d0"
                  "1bcfcadc0842edac85e85205028a1132afe09280305f13aa6909ffc2d652c706")


def call(app: Any, body: bytes, headers: dict[str, str] | None = None, method: str = "POST",
         length: bool = True) -> tuple[int, dict[str, str], bytes]:
    environ: dict[str, Any] = {"REQUEST_METHOD": method, "wsgi.input": io.BytesIO(body), "PATH_INFO": "/"}
    if length:
        environ["CONTENT_LENGTH"] = str(len(body))
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    seen: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = status, dict(response_headers)

    out = b"".join(app(environ, start_response))
    return int(seen["status"].split()[0]), seen["headers"], out


class Bot:
    """A receiver and the QQ side that signs for it."""

    def __init__(self, secret: str = SECRET, **fields: Any) -> None:
        self.signer = Signer(secret)
        self.got: list[core.Dispatch] = []
        self.statuses: list[core.StatusChanged] = []
        self.fatals: list[core.Fatal] = []
        handler = fields.pop("on_dispatch", self.got.append)
        self.receiver = WebhookReceiver(ReceiverConfig(app_id="102000000", client_secret=secret, **fields),
                                        on_dispatch=handler, on_fatal=self.fatals.append,
                                        on_status=self.statuses.append)
        self.app = self.receiver.wsgi_app

    def post(self, body: bytes, timestamp: str | None = None, signature: str | None = None,
             sign: bool = True) -> tuple[int, bytes]:
        stamp = timestamp if timestamp is not None else str(int(time.time()))
        headers = {"X-Signature-Timestamp": stamp, "User-Agent": "QQBot-Callback", "X-Bot-Appid": "102000000"}
        if sign:
            headers["X-Signature-Ed25519"] = signature or self.signer.sign(stamp.encode() + body)
        status, _, out = call(self.app, body, headers)
        return status, out

    def wait_for(self, n: int, timeout_s: float = 5.0) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.got) < n and time.monotonic() < deadline:
            time.sleep(0.005)


def eventually(predicate: Any, timeout_s: float = 5.0) -> bool:
    """Hooks run on a strand of their own: wait (bounded) for what they record."""
    deadline = time.monotonic() + timeout_s
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.005)
    return bool(predicate())


def event(event_id: str, n: int) -> bytes:
    return orjson.dumps({"id": event_id, "op": 0, "s": n, "t": "C2C_MESSAGE_CREATE",
                         "d": {"id": f"ROBOT1.0_msg{n}", "content": f"message {n}",
                               "author": {"user_openid": "E4F4AEA3"}}})


# -- the docs' vectors (bot-docs interface-framework/event-emit and sign) ------------------------------
def test_the_docs_op13_example_is_reproduced_through_the_wsgi_app() -> None:
    bot = Bot(DOCS_SECRET)
    bot.receiver.start()
    try:
        status, out = bot.post(DOCS_VALIDATION)
    finally:
        bot.receiver.stop()
    assert status == 200
    assert orjson.loads(out) == {"plain_token": "Arq0D5A61EgUu4OxUvOp", "signature": DOCS_SIGNATURE}


def test_the_docs_key_derivation_demo_is_reproduced() -> None:
    # sign.md: secret naOC0ocQE3shWLAfffVLB1rhYPG7 -> seed naOC0ocQE3shWLAfffVLB1rhYPG7naOC -> this public key
    assert signing_seed("naOC0ocQE3shWLAfffVLB1rhYPG7") == b"naOC0ocQE3shWLAfffVLB1rhYPG7naOC"
    assert list(bytes.fromhex(Signer("naOC0ocQE3shWLAfffVLB1rhYPG7").public_key_hex)) == [
        215, 195, 98, 254, 120, 174, 248, 31, 242, 50, 135, 180, 147, 98, 139, 93,
        176, 42, 60, 79, 227, 11, 33, 94, 77, 25, 96, 155, 93, 118, 103, 58]
    assert signing_seed(DOCS_SECRET) == DOCS_SECRET.encode() * 2
    assert signing_seed("x" * 40) == b"x" * 32
    with pytest.raises(ValueError):
        signing_seed("")


def test_the_docs_event_sample_signature_does_not_reproduce_from_its_printed_body() -> None:
    # sign.md's second demo: kept as a documented discrepancy, never used as a vector (protocol.md).
    signer = Signer("naOC0ocQE3shWLAfffVLB1rhYPG7")
    sample = ("865ad13a61752ca65e26bde6676459cd36cf1be609375b37bd62af366e1dc25a"
              "8dc789ba7f14e017ada3d554c671a911bfdf075ba54835b23391d509579ed002")
    body = b'{ "op": 0,"d": {}, "t": "GATEWAY_EVENT_NAME"}'
    assert signer.verify("1725442341", body, sample) == webhook.Signature.INVALID
    assert signer.verify("1725442341", body, signer.sign(b"1725442341" + body)) == webhook.Signature.VALID


@pytest.mark.parametrize("signature, verdict", [
    (None, webhook.Signature.MISSING), ("", webhook.Signature.MISSING), ("zz" * 64, webhook.Signature.MALFORMED),
    ("00" * 63, webhook.Signature.MALFORMED), ("00" * 63 + "e0", webhook.Signature.MALFORMED),
    ("00" * 64, webhook.Signature.INVALID),
])
def test_signature_verdicts(signature: str | None, verdict: str) -> None:
    assert Signer(SECRET).verify("1725442341", b"{}", signature) == verdict
    assert Signer(SECRET).verify(None, b"{}", "00" * 64) == webhook.Signature.MISSING


# -- rejections -----------------------------------------------------------------------------------------
def test_a_bad_signature_and_a_stale_timestamp_are_rejected_and_never_delivered() -> None:
    bot = Bot()
    bot.receiver.start()
    try:
        forged = Signer("another-bots-secret").sign(b"1725442341" + event("E1", 1))
        assert bot.post(event("E1", 1), signature=forged)[0] == 401
        assert bot.post(event("E1", 1), sign=False)[0] == 401
        tampered = bot.signer.sign(str(int(time.time())).encode() + event("E1", 1))
        assert bot.post(event("E1", 2), signature=tampered)[0] == 401  # signed another body
        stale = str(int(time.time()) - 3600)
        status, out = bot.post(event("E1", 1), timestamp=stale)   # validly signed, an hour old
        assert status == 401 and b"replay window" in out
        assert bot.post(event("E1", 1))[0] == 200                 # the genuine one gets through
        bot.wait_for(1)
    finally:
        bot.receiver.stop()
    assert [d.event_id for d in bot.got] == ["E1"]
    counters = bot.receiver.status().counters
    assert counters["signature_rejected"] == 3 and counters["stale_rejected"] == 1


def test_http_refusals_before_the_reducer() -> None:
    bot = Bot(max_body_bytes=1024)
    bot.receiver.start()
    try:
        status, headers, _ = call(bot.app, b"", method="GET")
        assert status == 405 and headers["Allow"] == "POST"
        assert call(bot.app, b"x" * 2000)[0] == 413
        assert call(bot.app, b"{}", length=False)[0] == 411
    finally:
        bot.receiver.stop()
    assert bot.receiver.status().counters["bodies_refused"] == 3


# -- redeliveries --------------------------------------------------------------------------------------
def test_a_retried_delivery_is_handled_once() -> None:
    bot = Bot()
    bot.receiver.start()
    try:
        answers = [bot.post(event("EV-1", 1)) for _ in range(4)]  # the first and QQ's 3 retries
        bot.wait_for(1)
        time.sleep(0.05)
    finally:
        bot.receiver.stop()
    assert answers == [(200, b'{"op":12,"d":0}')] * 4
    assert len(bot.got) == 1 and bot.got[0].event_id == "EV-1"
    assert bot.receiver.status().counters["duplicates_dropped"] == 3


def test_concurrent_redeliveries_from_many_threads_are_handled_once_each() -> None:
    bot = Bot()
    bot.receiver.start()
    bodies = [event(f"EV-{n % 25}", n) for n in range(200)]
    errors: list[BaseException] = []

    def worker(part: list[bytes]) -> None:
        try:
            for body in part:
                assert bot.post(body)[0] == 200
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(bodies[i::8],)) for i in range(8)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        bot.wait_for(25)
        time.sleep(0.05)
    finally:
        bot.receiver.stop()
    assert errors == []
    assert sorted(d.event_id or "" for d in bot.got) == sorted(f"EV-{n}" for n in range(25))
    assert sorted(d.seq for d in bot.got) == list(range(1, 26))


def test_a_raising_handler_is_counted_and_settled_and_the_next_event_still_arrives() -> None:
    seen: list[str | None] = []

    def handler(dispatch: core.Dispatch) -> None:
        seen.append(dispatch.event_id)
        if dispatch.event_id == "E1":
            raise RuntimeError("handler bug")
        dispatch.data["content"] = "mutated"  # the journal's copy must not change

    bot = Bot(on_dispatch=handler)
    bot.receiver.start()
    try:
        bot.post(event("E1", 1))
        bot.post(event("E2", 2))
        deadline = time.monotonic() + 5
        while bot.receiver.status().counters["settled"] < 2 and time.monotonic() < deadline:
            time.sleep(0.005)
    finally:
        bot.receiver.stop()
    assert seen == ["E1", "E2"]
    counters = bot.receiver.status().counters
    assert counters["handler_errors"] == 1 and counters["settled"] == 2 and counters["in_flight"] == 0


def test_stop_drains_acknowledged_events_and_later_ones_ask_for_a_retry() -> None:
    gate = threading.Event()
    got: list[str | None] = []

    def slow(dispatch: core.Dispatch) -> None:
        gate.wait(5)
        got.append(dispatch.event_id)

    bot = Bot(on_dispatch=slow)
    bot.receiver.start()
    for n in range(3):
        assert bot.post(event(f"E{n}", n)) == (200, b'{"op":12,"d":0}')
    threading.Timer(0.2, gate.set).start()
    assert bot.receiver.stop() is True
    assert got == ["E0", "E1", "E2"]
    assert bot.post(event("E9", 9)) == (200, b'{"op":12,"d":1}')
    assert eventually(lambda: len(bot.statuses) == 2)
    assert [s.phase for s in bot.statuses] == [core.Phase.READY, core.Phase.STOPPED]
    assert not bot.receiver.is_ready()


def test_a_wrong_secret_is_not_silent() -> None:
    bot = Bot(webhook=webhook.WebhookConfig(fatal_after_rejections=3))
    bot.receiver.start()
    other = Signer("the-secret-qq-really-uses")
    try:
        for n in range(4):
            stamp = str(int(time.time()))
            assert bot.post(event(f"E{n}", n), timestamp=stamp,
                            signature=other.sign(stamp.encode() + event(f"E{n}", n)))[0] == 401
    finally:
        bot.receiver.stop()
    assert eventually(lambda: bot.fatals) and len(bot.fatals) == 1
    assert bot.fatals[0].retryable and "AppSecret" in bot.fatals[0].reason


# -- the journal ---------------------------------------------------------------------------------------
def test_an_acknowledged_event_is_already_committed_and_the_session_replays(tmp_path: Path) -> None:
    store = tmp_path / "webhook.sqlite"
    bot = Bot(journal=str(store))
    bot.receiver.start()
    try:
        bot.post(DOCS_VALIDATION)
        assert bot.post(event("EV-1", 1)) == (200, b'{"op":12,"d":0}')
        # the answer came after the commit: the step is in the store while the receiver runs
        _, records = read_session(store)
        assert any(r["input"]["type"] == "CallbackReceived" and "EV-1" in r["input"]["body"] for r in records)
        assert any(c["type"] == "Deliver" for r in records for c in r["commands"])
        bot.post(event("EV-1", 1))
        bot.post(event("EV-2", 2), signature="00" * 64)
        bot.post(event("EV-3", 3), timestamp="1000000000")
        bot.post(b"\xff\xfe")
        bot.post(event("EV-4", 4))
        bot.wait_for(2)
        time.sleep(0.05)
    finally:
        bot.receiver.stop()
    header, records = read_session(store)
    assert header["client"]["client"] == "webhook" and header["app_id"] == "102000000"
    kinds = [r["input"]["type"] for r in records]
    assert kinds[0] == "Start" and kinds[-1] == "Stop" and kinds.count("DispatchSettled") == 2
    data = journal_bytes(store)
    assert SECRET.encode() not in store.read_bytes() and SECRET.encode() not in data
    result = replay_journal(journal.read_journal(data))
    assert result.divergence is None and result.client == "webhook" and result.steps == len(records)
    assert main(["replay", str(store)]) == 0  # and through the command line, like a gateway session


def test_the_secret_never_reaches_logs_status_or_reprs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    bot = Bot()
    bot.receiver.start()
    try:
        bot.post(event("E1", 1))
        bot.post(event("E2", 2), signature="00" * 64)
        bot.post(SECRET.encode())  # even a body holding it is logged redacted
        bot.wait_for(1)
    finally:
        bot.receiver.stop()
    text = caplog.text + repr(bot.receiver.config) + str(bot.receiver.config) + repr(bot.signer)
    text += orjson.dumps(bot.receiver.status().as_dict()).decode()
    assert SECRET not in text and "callback_rejected" in caplog.text
    with pytest.raises(Exception) as info:
        ReceiverConfig(app_id="", client_secret=SECRET)
    assert SECRET not in str(info.value)


def test_a_restart_restores_handled_ids_and_delivers_unhandled_events_again(tmp_path: Path) -> None:
    store = str(tmp_path / "restart.sqlite")
    release = threading.Event()
    first_seen: list[str | None] = []

    def stuck_on_e2(dispatch: core.Dispatch) -> None:
        first_seen.append(dispatch.event_id)
        if dispatch.event_id == "E2":
            release.wait(10)  # the process "dies" with E2 acknowledged but not handled

    a = Bot(journal=store, on_dispatch=stuck_on_e2, drain_timeout_s=0.3)
    a.receiver.start()
    try:
        assert a.post(event("E1", 1))[0] == a.post(event("E2", 2))[0] == 200
        deadline = time.monotonic() + 5
        while "E2" not in first_seen and time.monotonic() < deadline:
            time.sleep(0.005)
        assert a.receiver.stop() is False  # E2 was not handled in time
    finally:
        release.set()
    assert first_seen == ["E1", "E2"]
    b = Bot(journal=store)
    b.receiver.start()
    try:
        assert b.receiver.restored_from == a.receiver.journal_session_id
        b.wait_for(1)
        assert [d.event_id for d in b.got] == ["E2"]              # delivered again
        assert b.post(event("E1", 1)) == (200, b'{"op":12,"d":0}')  # QQ's late retry of E1: dropped
        assert b.post(event("E3", 3))[0] == 200
        b.wait_for(2)
        time.sleep(0.05)
    finally:
        b.receiver.stop()
    assert [d.event_id for d in b.got] == ["E2", "E3"]
    assert b.receiver.status().counters["restored_deliveries"] == 1
    for session in (a.receiver.journal_session_id, b.receiver.journal_session_id):
        assert main(["replay", store, "--session", str(session)]) == 0
    c = Bot(journal=store)  # a third start: everything was handled, nothing comes again
    c.receiver.start()
    try:
        time.sleep(0.1)
        assert c.got == [] and c.post(event("E2", 2)) == (200, b'{"op":12,"d":0}')
    finally:
        c.receiver.stop()
    assert c.got == []


def test_an_unreadable_store_is_logged_and_the_receiver_starts_afresh(tmp_path: Path,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    store = tmp_path / "broken.sqlite"
    store.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    bot = Bot(journal=str(store), restore=True)
    with pytest.raises(Exception):  # the journal itself cannot be opened either: a usage error
        bot.receiver.start()
    assert bot.receiver.status().counters.get("restore_errors") == 1
    assert "cannot restore" in caplog.text and SECRET not in caplog.text
