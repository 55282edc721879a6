"""Figure 9: webhook deliveries verified and journaled per second (issue: the webhook transport).

``python -m benchmarks._webhook [--quick]`` runs this figure alone and prints its table.

- 9a, in process: ``WebhookReceiver.handle`` called from 16 threads with pre-signed callbacks
  (QQ's signing is not our cost): each is verified with Ed25519 (``cryptography``), stepped
  through the webhook reducer, journaled to SQLite and acknowledged after its commit, then
  delivered to a handler that counts; a ``d:1`` answer (back-pressure) is retried after 10 ms,
  as QQ would. Baseline, same run: the same receiver with no journal.
- 9b, end to end over loopback HTTP: ``qqgate run --transport webhook`` (gevent's WSGI server,
  SQLite journal, ack after commit) driven by the chaos gateway's webhook mode with 32
  deliveries in flight; a delivery counts once its op 12 answer is back. Baseline, same run:
  the same with ``--no-journal``. The chaos gateway signs every request in this process, so
  the figure is bounded by both sides on this 2-CPU machine.

The note gives the cost of one bare Ed25519 verification here, the floor of any receiver.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from qqgate import core
from qqgate.io_shell.webhook import ReceiverConfig, Signer, WebhookReceiver
from qqgate.replay.world.gateway import ChaosWebhook, WebhookSpec

from ._stats import Figure, render
from .peers._proc import PYTHON, ROOT, child_env

SECRET = "bench-webhook-secret"
THREADS = 16
IN_FLIGHT = 32


def _bodies(n: int, tag: str) -> list[bytes]:
    return [orjson.dumps({"id": f"C2C_MESSAGE_CREATE:{tag}-{i}", "op": 0, "s": i, "t": "C2C_MESSAGE_CREATE",
                          "d": {"id": f"ROBOT1.0_{tag}-{i}", "content": f"message {i}",
                                "author": {"user_openid": "E4F4AEA33253A2797FB897C50B81D7ED"}}})
            for i in range(n)]


def in_process_rate(n: int, journal: str | None) -> float:
    """Deliveries/s through ``handle`` from THREADS threads, each answer 200 op 12 (asserted)."""
    signer = Signer(SECRET)
    stamp = str(int(time.time()))
    bodies = _bodies(n, f"bench{os.getpid()}-{time.monotonic_ns()}")
    signatures = [signer.sign(stamp.encode() + body) for body in bodies]
    handled = threading.Semaphore(0)

    def handler(_dispatch: core.Dispatch) -> None:
        handled.release()

    receiver = WebhookReceiver(ReceiverConfig(app_id="102000000", client_secret=SECRET, journal=journal),
                               on_dispatch=handler)
    receiver.start()
    failures: list[int] = []

    def worker(first: int) -> None:
        for i in range(first, n, THREADS):
            for _ in range(1000):  # as QQ does: a d:1 answer (back-pressure) is retried
                answer = receiver.handle(bodies[i], signatures[i], stamp)
                if answer.body != b'{"op":12,"d":1}':
                    break
                time.sleep(0.01)
            if answer.body != b'{"op":12,"d":0}':
                failures.append(i)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(THREADS)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    limit = time.monotonic() + 60
    for _ in range(n - len(failures)):
        if not handled.acquire(timeout=max(0.0, limit - time.monotonic())):
            raise RuntimeError("the handler did not get every acknowledged event within 60 s")
    elapsed = time.perf_counter() - start
    receiver.stop()
    if failures:
        raise RuntimeError(f"{len(failures)} callbacks were not acknowledged")
    return n / elapsed


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def http_rate(n: int, journal: Path | None) -> float:
    """Acknowledged deliveries/s from the chaos gateway's webhook mode to ``qqgate run``."""
    port = _free_port()
    argv = [PYTHON, "-m", "qqgate", "run", "--transport", "webhook", "--listen", f"127.0.0.1:{port}",
            "--log-level", "error", *(["--journal", str(journal)] if journal else ["--no-journal"])]
    proc = subprocess.Popen(argv, cwd=ROOT, env=child_env({"QQ_APP_ID": "102000000", "QQ_CLIENT_SECRET": SECRET}),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pusher = None
    try:
        spec = WebhookSpec(f"http://127.0.0.1:{port}/", messages=n, interval_s=0.0, concurrency=IN_FLIGHT,
                           validation_attempts=400, validation_gap_s=0.05)
        pusher = ChaosWebhook(spec, SECRET).start_in_thread()
        if not pusher.wait(300):
            raise RuntimeError("the webhook run did not finish in 300 s")
        records = list(pusher.records.values())
        if pusher.summary()["acked"] != n:
            raise RuntimeError(f"only {pusher.summary()['acked']} of {n} deliveries acknowledged")
        first = min(r.attempts[0].at for r in records)
        last = max(r.attempts[-1].at for r in records)
        return n / (last - first)
    finally:
        if pusher is not None:
            pusher.stop()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def verify_us(calls: int = 2000) -> float:
    """Microseconds per bare Ed25519 verification (cryptography) on this machine."""
    key = Ed25519PrivateKey.generate()
    public, message = key.public_key(), b"1725442341" + _bodies(1, "v")[0]
    signature = key.sign(message)
    start = time.perf_counter()
    for _ in range(calls):
        public.verify(signature, message)
    return (time.perf_counter() - start) / calls * 1e6


def measure(quick: bool) -> list[Figure]:
    repeats = 2 if quick else 5
    n_in, n_http = (400, 300) if quick else (3000, 2000)
    journaled: list[float] = []
    bare: list[float] = []
    http_journaled: list[float] = []
    http_bare: list[float] = []
    with tempfile.TemporaryDirectory(prefix="qqgate-bench-webhook-") as name:
        tmp = Path(name)
        for r in range(repeats):  # interleaved, so both sides see the same machine load
            journaled.append(in_process_rate(n_in, str(tmp / f"in-{r}.sqlite")))
            bare.append(in_process_rate(n_in, None))
        for r in range(repeats):
            http_journaled.append(http_rate(n_http, tmp / f"http-{r}.sqlite"))
            http_bare.append(http_rate(n_http, None))
    floor = statistics.median(verify_us() for _ in range(3))
    note = (f"one bare Ed25519 verification here: {floor:.0f} µs (a ceiling of {1e6 / floor:.0f}/s on one core "
            f"for any receiver). 9a: {n_in} callbacks per repeat, {THREADS} threads; 9b: {n_http} callbacks per "
            f"repeat, {IN_FLIGHT} in flight, one TCP connection each.")
    return [
        Figure(9, f"webhook deliveries verified + journaled (SQLite, ack after commit), in process, {THREADS} threads",
               "deliveries/s", journaled, baseline_name="same, no journal", baseline_values=bare,
               ratio_values=[a / b for a, b in zip(journaled, bare)], note=note),
        Figure(9, "webhook deliveries end to end: chaos gateway → qqgate run --transport webhook (HTTP, SQLite)",
               "deliveries/s", http_journaled, baseline_name="same, --no-journal", baseline_values=http_bare,
               ratio_values=[a / b for a, b in zip(http_journaled, http_bare)]),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._webhook", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    sys.stdout.write(render(measure(args.quick), "quick" if args.quick else "full"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
