"""The webhook transport on real sockets: the chaos gateway's webhook mode against qqgate's receiver.

In-process: ``ChaosWebhook`` (its own gevent hub thread) against a ``WebhookReceiver`` mounted
in the standard library's threaded WSGI server (any WSGI host will do). Out of process:
``qqgate run --transport webhook`` against the chaos gateway, the numbered stream delivered
exactly once through retries, redeliveries, late answers, reordering, forged and replayed
copies, and a receiver that is down when the stream starts and again in the middle. Only
127.0.0.1; every wait is bounded; every process is stopped in ``finally``.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Iterator
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import orjson
import pytest

from qqgate import core
from qqgate._argtypes import WEBHOOK_FAULTS
from qqgate.cli import main
from qqgate.core import webhook
from qqgate.io_shell.webhook import ReceiverConfig, WebhookReceiver
from qqgate.replay.world.gateway import ChaosWebhook, WebhookFaults, WebhookSpec, event_ids
from qqgate.replay.world.gateway._webhook_keys import QQKey

ROOT = Path(__file__).resolve().parent.parent
SECRET = "webhook-secret-7c0d3e9a"
DISPATCH = re.compile(r"dispatch s=\d+ C2C_MESSAGE_CREATE id=C2C_MESSAGE_CREATE:chaos-wh(\d+): .*\"content\":\"message (\d+)\"")


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        pass


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class Served:
    """A receiver in the standard library's threaded WSGI server on 127.0.0.1."""

    def __init__(self, **fields: Any) -> None:
        self.got: list[core.Dispatch] = []
        handler = fields.pop("on_dispatch", self.got.append)
        self.receiver = WebhookReceiver(ReceiverConfig(app_id="102000000", client_secret=SECRET, **fields),
                                        on_dispatch=handler)
        self.receiver.start()
        self.server = make_server("127.0.0.1", 0, self.receiver.wsgi_app, server_class=_ThreadingServer,
                                  handler_class=_Quiet)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.receiver.stop()


@pytest.fixture
def served() -> Iterator[Served]:
    s = Served()
    try:
        yield s
    finally:
        s.close()


def fast_spec(url: str, **fields: Any) -> WebhookSpec:
    values: dict[str, Any] = {"messages": 40, "interval_s": 0.005, "retry_delays_s": (0.2, 0.4, 0.8),
                              "validation_gap_s": 0.1, "seed": 7}
    values.update(fields)
    return WebhookSpec(url, **values)


def test_the_chaos_sides_key_reproduces_the_docs_op13_example() -> None:
    # an independent derivation from the receiver's, judged by the same docs vector
    key = QQKey("DG5g3B4j9X2KOErG")
    assert key.answer_is_valid("1725442341", "Arq0D5A61EgUu4OxUvOp", (
        "87befc99c42c651b3aac0278e71ada338433ae26fcb24307bdc5ad38c1adc2d0"
        "1bcfcadc0842edac85e85205028a1132afe09280305f13aa6909ffc2d652c706"))
    assert not key.answer_is_valid("1725442342", "Arq0D5A61EgUu4OxUvOp", "00" * 64)
    assert WEBHOOK_FAULTS == WebhookFaults.NAMES  # the CLI's list is the gateway's


def test_every_fault_against_the_receiver_in_a_threaded_wsgi_host(served: Served) -> None:
    faults = WebhookFaults(bad_signature=0.2, stale_timestamp=0.2, duplicate=0.3, out_of_order=0.2,
                           late_answer=0.2, hold_back_s=0.05)
    pusher = ChaosWebhook(fast_spec(served.url, faults=faults), SECRET).start_in_thread()
    try:
        assert pusher.wait(60)
    finally:
        pusher.stop()
    s = pusher.summary()
    assert s["validated"] and s["events"] == 40 and s["acked"] == 40 and s["given_up"] == 0
    assert s["late_answers"] > 0 and s["redeliveries"] > 0 and s["attacks"] > 0
    assert s["attacks_refused"] == s["attacks"]
    deadline = time.monotonic() + 5
    while len(served.got) < 40 and time.monotonic() < deadline:
        time.sleep(0.01)
    counts = Counter(d.event_id for d in served.got)
    assert counts == Counter({event_ids(n)[0]: 1 for n in range(1, 41)})
    counters = served.receiver.status().counters
    assert counters["duplicates_dropped"] == s["late_answers"] + s["redeliveries"]
    assert counters["signature_rejected"] + counters["stale_rejected"] == s["attacks"]


def test_a_slow_handler_does_not_make_answers_late_so_nothing_is_retried() -> None:
    served = Served(on_dispatch=lambda d: time.sleep(0.3))  # each handler outlasts the answer deadline
    try:
        pusher = ChaosWebhook(fast_spec(served.url, messages=6, answer_deadline_s=0.2), SECRET).start_in_thread()
        try:
            assert pusher.wait(30)
        finally:
            pusher.stop()
        s = pusher.summary()
        assert s["acked"] == 6 and s["retries"] == 0  # answered before the handler ran: no retry
    finally:
        served.close()


def test_a_wrong_secret_fails_the_validation_and_nothing_is_pushed(served: Served) -> None:
    pusher = ChaosWebhook(fast_spec(served.url), "the-secret-qq-really-uses").start_in_thread()
    try:
        assert pusher.wait(10)
    finally:
        pusher.stop()
    assert not pusher.validation.ok and pusher.summary()["events"] == 0
    assert pusher.validation.problem == "status 401, not a JSON object"  # our receiver refused the forged op 13


def test_a_receiver_that_stays_down_loses_events_to_qq_giving_up() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/"
    pusher = ChaosWebhook(fast_spec(url, messages=3, validate=False, retry_delays_s=(0.05, 0.05, 0.05)),
                          SECRET).start_in_thread()
    try:
        assert pusher.wait(10)
    finally:
        pusher.stop()
    s = pusher.summary()
    assert s["given_up"] == 3 and s["attempts"] == 12  # the first try and 3 retries each, all refused
    assert {a.outcome for r in pusher.records.values() for a in r.attempts} == {"refused"}


# -- qqgate run --transport webhook against the chaos gateway in webhook mode ----------------------
def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _start_run(port: int, journal: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, QQ_APP_ID="102000000", QQ_CLIENT_SECRET=SECRET, PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.Popen([sys.executable, "-m", "qqgate", "run", "--transport", "webhook",
                             "--listen", f"127.0.0.1:{port}", "--journal", str(journal), "--duration", "120"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen[str]) -> tuple[int | None, str, str]:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate(timeout=5)
    return proc.returncode, out, err


def test_qqgate_run_webhook_gets_a_numbered_stream_exactly_once_through_the_chaos_gateway(tmp_path: Path) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    n = 80
    faults = WebhookFaults(bad_signature=0.1, stale_timestamp=0.1, duplicate=0.25, out_of_order=0.2,
                           late_answer=0.15, hold_back_s=0.1)
    spec = WebhookSpec(url, messages=n, interval_s=0.05, retry_delays_s=(1.0, 2.0, 4.0),
                       validation_attempts=200, validation_gap_s=0.1, faults=faults, seed=16)
    # the gateway starts first: the receiver is down until its process is up (validation retries)
    pusher = ChaosWebhook(spec, SECRET).start_in_thread()
    outputs: list[tuple[int | None, str, str]] = []
    first = second = None
    try:
        t0 = time.monotonic()
        marks: dict[str, float] = {}
        time.sleep(0.3)
        first = _start_run(port, tmp_path / "a.sqlite")
        # down again in the middle: a clean stop, 1 s with nothing listening, a new process
        halfway = time.monotonic() + 60
        while len(pusher.records) < n // 2 and time.monotonic() < halfway and not pusher.done:
            time.sleep(0.02)
        marks["stopping"] = time.monotonic() - t0
        outputs.append(_finish(first))
        marks["stopped"] = time.monotonic() - t0
        time.sleep(1.0)
        second = _start_run(port, tmp_path / "a.sqlite")  # the same store: the restart restores from it
        marks["second"] = time.monotonic() - t0
        assert pusher.wait(90), pusher.summary()
        time.sleep(0.3)
        outputs.append(_finish(second))
    finally:
        pusher.stop()
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=5)
    summary = pusher.summary()
    text = "".join(out for _, out, _ in outputs)
    assert all(code == 0 for code, _, _ in outputs), outputs
    assert pusher.validation.attempts > 1  # it was refused until the receiver listened
    given_up = [(r.n, [(round(a.at - t0, 2), a.outcome) for a in r.attempts]) for r in pusher.records.values() if r.given_up]
    assert summary["validated"] and summary["acked"] == n and summary["given_up"] == 0, (summary, given_up, marks)
    assert summary["attacks_accepted"] == 0 and summary["attacks_refused"] > 0  # (some met a receiver down)
    assert summary["late_answers"] > 0 and summary["redeliveries"] > 0
    refused = [a for r in pusher.records.values() for a in r.attempts if a.outcome == "refused"]
    assert refused  # the restart window was bridged by QQ-style retries
    numbers = [int(m.group(1)) for m in DISPATCH.finditer(text)]
    assert all(int(m.group(1)) == int(m.group(2)) for m in DISPATCH.finditer(text))
    missing = sorted(set(range(1, n + 1)) - set(numbers))
    doubled = sorted(k for k, v in Counter(numbers).items() if v > 1)
    # a redelivery reaching the second process for an event the first one handled is dropped:
    # the second restored the first's handled ids from the journal store
    assert missing == [] and doubled == [], (missing, doubled)
    assert "restored from journal session" in outputs[1][1]
    sessions = [line.split()[-1] for _, out, _ in outputs for line in out.splitlines() if " session " in line
                and line.split()[1] == "journal"]
    assert len(sessions) == 2
    for session in sessions:
        assert main(["replay", str(tmp_path / "a.sqlite"), "--session", session]) == 0


def test_qqgate_gateway_webhook_judges_a_run_and_refuses_bad_usage(served: Served, monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("QQ_CLIENT_SECRET", SECRET)
    argv = ["gateway", "--webhook", served.url, "--webhook-messages", "5", "--webhook-interval", "0.01",
            "--webhook-fault", "duplicate=1", "--webhook-fault", "bad-signature=1", "--quiet"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "posting callbacks to " + served.url in out
    assert "acked=5 given_up=0" in out and "redeliveries=5" in out and "attacks_accepted=0" in out
    assert SECRET not in out
    assert sorted(d.event_id or "" for d in served.got) == [event_ids(n)[0] for n in range(1, 6)]
    monkeypatch.setenv("QQ_CLIENT_SECRET", "the-secret-qq-really-uses")
    assert main(argv) == 1  # the validation fails: the receiver holds another secret
    monkeypatch.delenv("QQ_CLIENT_SECRET")
    assert main(argv) == 2
    with pytest.raises(SystemExit) as exit_info:
        main(["gateway", "--webhook", served.url, "--webhook-fault", "teleport=0.5"])
    assert exit_info.value.code == 2
    monkeypatch.setenv("QQ_CLIENT_SECRET", SECRET)
    assert main(["gateway", "--webhook", "https://example.invalid/cb"]) == 2  # TLS is the proxy's job


def test_qqgate_run_webhook_refuses_bad_usage(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--transport", "webhook", "--listen", "nonsense"])
    assert exit_info.value.code == 2
    monkeypatch.delenv("QQ_CLIENT_SECRET", raising=False)
    monkeypatch.setenv("QQ_APP_ID", "102000000")
    assert main(["run", "--transport", "webhook", "--no-journal", "--duration", "1"]) == 2
    assert "QQ_CLIENT_SECRET" in capsys.readouterr().err
    monkeypatch.setenv("QQ_CLIENT_SECRET", SECRET)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert main(["run", "--transport", "webhook", "--listen", f"127.0.0.1:{port}", "--journal",
                     str(tmp_path / "j.sqlite"), "--duration", "1"]) == 2
    assert "cannot listen" in capsys.readouterr().err


def test_stop_from_inside_a_handler_only_asks() -> None:
    asked: list[bool] = []
    holder: list[WebhookReceiver] = []

    def stopper(dispatch: core.Dispatch) -> None:
        asked.append(holder[0].stop())

    receiver = WebhookReceiver(ReceiverConfig(app_id="102000000", client_secret=SECRET), on_dispatch=stopper)
    holder.append(receiver)
    receiver.start()
    key = QQKey(SECRET)
    stamp = str(int(time.time()))
    body = orjson.dumps({"id": "E1", "op": 0, "t": "C2C_MESSAGE_CREATE", "d": {}})
    assert receiver.handle(body, key.sign(stamp, body), stamp).status == 200
    deadline = time.monotonic() + 5
    while not asked and time.monotonic() < deadline:
        time.sleep(0.01)
    assert asked == [False] and not receiver.is_ready()  # asked for the stop, did not wait on itself
    assert receiver.stop() is True
