"""``python -m benchmarks.faults [--quick]``: the fault matrix on real loopback sockets.

Every chaos-gateway fault, one after another, against ``qqgate run`` and against botpy 1.2.1
(``tests/peers/botpy_echo.py``, unmodified) in the same run. Each client kind gets a
``ChaosGateway`` of its own (in a thread of this process) and one long-lived client subprocess;
the two sequences run in parallel threads. A client that did not recover (or exited when it
should not have) is replaced by a fresh process before the next row, so one failure does not
spill into the rows after it. Ban 4914 runs last on the long-lived process; Ban 4915 on a fresh
gateway and a fresh process. Prints the table and writes benchmarks/FAULTS.md.

Only 127.0.0.1; every wait is bounded and every subprocess is killed in ``finally``.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from qqgate.replay.world import (
    Ban, DnsOutage, Fault, HalfOpen, InvalidateSessions, RefuseConnects, RejectResumes, ServerClose,
    ServerReconnect, StallConnects, WorldSpec,
)
from qqgate.replay.world.gateway import ChaosGateway

from ._realsock import HAVE_BOTPY, _qqgate_env, _qqgate_run_argv, _sessions_by_conn, _wait
from .peers._proc import BOTPY_ECHO, PYTHON, Child

SCALE = 10.0
"""Model time runs 10× wall time: Hello says 4125 ms, messages come every ~0.3 s wall."""
MESSAGE_GAP_WALL_S = 0.3
BOTPY_FLOOR_S = 1.5
"""A client is "settled" when it has a live session and no connection opened for this long."""
RECOVERED = "recovered"
RIGHT_FATAL = "stopped with the right fatal"
QQ_DISPATCH = re.compile(r'dispatch s=\d+ C2C_MESSAGE_CREATE .*?"id":"(ROBOT1\.0_sim\d+)"')
BP_GOT = re.compile(r"botpy-echo: got (ROBOT1\.0_sim\d+) ")
QQ_FATAL = re.compile(r"FATAL final \(close (\d+)\)")


def world() -> WorldSpec:
    """Calm except for C2C messages; the server heartbeat timeout lifted to 120 s wall so botpy's
    fixed 30 s heartbeat is never too slow, the resume window to 600 s wall."""
    return WorldSpec(message_interval_s=MESSAGE_GAP_WALL_S * SCALE, session_cycle_s=None, latency_s=0.0,
                     heartbeat_timeout_s=120 * SCALE, server_resume_window_s=600 * SCALE)


@dataclass(frozen=True)
class Row:
    """One fault. ``faults`` are triggered at once; ``kind``: "recover", "fatal" (``code``),
    "duplicates" (``dup_s`` of duplicate_probability 1), or "unsupported" (``why``)."""

    name: str
    faults: tuple[Fault, ...] = ()
    kind: str = "recover"
    code: int | None = None
    dup_s: float = 0.0
    fresh: bool = False
    why: str = ""
    recover_s: float | None = None
    """This row's recovery bound (None: the run's); 4008's is past qqgate's 60 s rate-limit cooldown."""


def rows(quick: bool) -> list[Row]:
    refuse_s = 10.0 if quick else 60.0
    window_s = 8.0 if quick else 20.0  # longer than botpy's 5 s reconnect sleep
    m = SCALE  # window faults are in model seconds
    return [
        Row("heartbeat timeout (server drop, no close frame)", (ServerClose(0, None),)),
        Row("op 7 + 4009", (ServerReconnect(0),)),
        Row("4009 alone", (ServerClose(0, 4009, "Session timed out"),)),
        Row("4008 rate limited", (ServerClose(0, 4008, "rate limit"),), recover_s=75.0),
        Row("4006 session invalid", (ServerClose(0, 4006, "session id invalid"),)),
        Row("4007 invalid seq", (ServerClose(0, 4007, "invalid seq"),)),
        Row("4900 internal error", (ServerClose(0, 4900, "internal error"),)),
        Row("4913 internal error", (ServerClose(0, 4913, "internal error"),)),
        Row("op 9 (InvalidateSessions + drop)", (InvalidateSessions(0),)),
        Row("server restart (InvalidateSessions + drop + 2 s refused)",
            (InvalidateSessions(0), RefuseConnects(0, 2 * m), ServerClose(0, None))),
        Row("duplicate dispatches", kind="duplicates", dup_s=3.0 if quick else 10.0),
        Row(f"refused connects {refuse_s:g} s + drop", (RefuseConnects(0, refuse_s * m), ServerClose(0, None))),
        Row(f"stalled connects {window_s:g} s + drop", (StallConnects(0, window_s * m), ServerClose(0, None))),
        Row(f"DNS outage {window_s:g} s + drop", (DnsOutage(0, window_s * m), ServerClose(0, None))),
        Row(f"resumes rejected {window_s:g} s + 4009", (RejectResumes(0, window_s * m), ServerClose(0, 4009))),
        Row("half-open link", (HalfOpen(0),)),
        Row("no Hello", kind="unsupported",
            why="not supported: the chaos gateway always sends Hello on upgrade"),
        Row("no READY", kind="unsupported",
            why="not supported: the chaos gateway always answers a valid Identify with READY"),
        Row("4914 (Ban)", (Ban(0, 4914, "bot taken down"),), kind="fatal", code=4914),
        Row("4915 (Ban)", (Ban(0, 4915, "bot banned"),), kind="fatal", code=4915, fresh=True),
    ]


@dataclass
class Result:
    row: str
    outcome: str
    recover_s: float | None = None
    lost: int | None = None
    dup: int | None = None
    detail: str = ""
    # for the loss accounting (model time window, client process names)
    window: tuple[float, float] = (0.0, 0.0)
    gw_index: int = 0


@dataclass
class Bounds:
    recover_s: float
    fatal_s: float


class Runner:
    """One client kind ("qqgate" or "botpy"): its gateway(s), its process(es), its rows."""

    def __init__(self, client: str, tmp: Path, bounds: Bounds) -> None:
        self.client = client
        self.tmp = tmp
        self.bounds = bounds
        self.gws: list[ChaosGateway] = []
        self.children: list[Child] = []
        self.child: Child | None = None
        self.results: list[Result] = []
        self.problem = ""
        self.totals = ""

    # -- processes ------------------------------------------------------------------------
    @property
    def gw(self) -> ChaosGateway:
        return self.gws[-1]

    def new_gateway(self) -> None:
        self.gws.append(ChaosGateway(world(), time_scale=SCALE, seed=len(self.gws) + 1).start_in_thread())

    def new_child(self) -> None:
        if self.child is not None:
            self.child.stop(grace_s=2.0)
        n = len(self.children)
        cwd = self.tmp / f"{self.client}-{n}"
        cwd.mkdir()
        if self.client == "qqgate":
            argv = _qqgate_run_argv(self.gw.http_base, 40 + n, cwd / "journal.sqlite")
            child = Child(argv, cwd, f"qqgate-{n}", env=_qqgate_env())
        else:
            child = Child([PYTHON, str(BOTPY_ECHO), self.gw.http_base], cwd, f"botpy-{n}")
        child.gw_index = len(self.gws) - 1  # type: ignore[attr-defined]
        self.child = child
        self.children.append(child)

    def settled(self) -> bool:
        gw = self.gw
        if not _sessions_by_conn(gw):
            return False
        accepted = gw.events_of("ws_accepted")
        return bool(accepted) and time.monotonic() - max(e.at for e in accepted) > BOTPY_FLOOR_S

    def settle(self, timeout_s: float = 30.0) -> bool:
        return _wait(self.settled, timeout_s, 0.05)

    # -- rows -------------------------------------------------------------------------------
    def run(self, table: list[Row]) -> None:
        try:
            self.new_gateway()
            self.new_child()
            for row in table:
                self.results.append(self.one(row))
        except Exception as exc:  # noqa: BLE001 - reported, the rows so far are kept
            self.problem = repr(exc)
        finally:
            for child in self.children:
                child.stop(grace_s=2.0)
            for child in self.children:
                child.drain()
            self.account()
            for gw in self.gws:
                gw.stop()

    def one(self, row: Row) -> Result:
        if row.kind == "unsupported":
            return Result(row.name, row.why)
        if row.fresh:
            self.new_gateway()
            self.new_child()
        assert self.child is not None
        if not self.child.alive():
            self.new_child()
        if not self.settle():
            self.new_child()
            if not self.settle():
                return Result(row.name, "could not start a session before the fault",
                              window=(self.gw.model_now, self.gw.model_now), gw_index=len(self.gws) - 1)
        gw = self.gw
        m0 = gw.model_now
        t0 = time.monotonic()
        if row.kind == "duplicates":
            self._duplicates(row.dup_s)
            time.sleep(1.0)
            reconnects = len([e for e in gw.events_of("ws_accepted") if e.at > t0])
            out = "no disconnect (n/a)" if reconnects == 0 and self.child.alive() else \
                f"reconnected {reconnects}× (unexpected)"
            return Result(row.name, out, window=(m0, gw.model_now), gw_index=len(self.gws) - 1)
        for fault in row.faults:
            gw.trigger(fault)
        if row.kind == "fatal":
            return self._fatal(row, t0, m0)
        child = self.child

        bound = row.recover_s if row.recover_s is not None else self.bounds.recover_s

        def established() -> bool:
            return any(e.at > t0 for e in gw.events_of("server_established")) or not child.alive()
        _wait(established, bound, 0.02)
        done = [e for e in gw.events_of("server_established") if e.at > t0]
        if done:
            conn = done[0].fields["conn"]
            how = "resume" if gw.events_of("resume", conn=conn) else "identify"
            result = Result(row.name, f"{RECOVERED} ({how})", recover_s=done[0].at - t0)
        elif not child.alive():
            result = Result(row.name, f"stopped: wrong (exit {child.proc.returncode})")
        else:
            result = Result(row.name, f"not recovered within {bound:g} s")
        if not done:
            self.new_child()  # the next row starts from a working client
        result.window = (m0, gw.model_now)
        result.gw_index = len(self.gws) - 1
        return result

    def _duplicates(self, seconds: float) -> None:
        server = self.gw.link.server
        self.gw.call(lambda: setattr(server, "world", dataclasses.replace(server.world, duplicate_probability=1.0)))
        try:
            time.sleep(seconds)
        finally:
            self.gw.call(lambda: setattr(server, "world", dataclasses.replace(server.world, duplicate_probability=0.0)))

    def _fatal(self, row: Row, t0: float, m0: float) -> Result:
        child, gw = self.child, self.gw
        assert child is not None
        exited = _wait(lambda: not child.alive(), self.bounds.fatal_s, 0.05)
        attempts = len([e for e in gw.events_of("ws_accepted") if e.at > t0])
        if self.client == "qqgate":
            child.drain()
            codes = [int(mt.group(1)) for line in child.lines if (mt := QQ_FATAL.search(line))]
            if exited and row.code in codes and child.proc.returncode == 1:
                out = RIGHT_FATAL
            elif exited:
                out = f"stopped: wrong (exit {child.proc.returncode}, fatal codes {codes})"
            else:
                out = f"did not stop within {self.bounds.fatal_s:g} s ({attempts} new connections)"
        else:
            tail = child.log_tail(4000)
            out = (f"stopped (exit {child.proc.returncode}, {'code seen in log' if str(row.code) in tail else 'code not in log'})"
                   if exited else f"did not stop: {attempts} new connections in {self.bounds.fatal_s:g} s")
        return Result(row.name, out, detail=f"exit {child.proc.returncode}" if exited else "",
                      window=(m0, gw.model_now), gw_index=len(self.gws) - 1)

    # -- loss and duplicates ----------------------------------------------------------------------
    def received(self) -> dict[int, Counter[str]]:
        """Per gateway: how often each message id reached the client's handler."""
        pattern = QQ_DISPATCH if self.client == "qqgate" else BP_GOT
        out: dict[int, Counter[str]] = {}
        for child in self.children:
            counts = out.setdefault(child.gw_index, Counter())  # type: ignore[attr-defined]
            for line in child.lines:
                mt = pattern.search(line)
                if mt:
                    counts[mt.group(1)] += 1
        return out

    def account(self) -> None:
        received = self.received()
        pushed_n = sum(len(gw.pushed) for gw in self.gws)
        got_n = sum(sum(c.values()) for c in received.values())
        self.totals = (f"{self.client}: {pushed_n} messages pushed over {len(self.gws)} gateway(s), "
                       f"{got_n} handler deliveries, {len(self.children)} client process(es)")
        per_gw_rows: dict[int, list[Result]] = {}
        for r in self.results:
            if r.window != (0.0, 0.0):
                per_gw_rows.setdefault(r.gw_index, []).append(r)
        for index, results in per_gw_rows.items():
            pushed = self.gws[index].pushed
            counts = received.get(index, Counter())
            for i, r in enumerate(results):
                start = r.window[0]
                end = results[i + 1].window[0] if i + 1 < len(results) else float("inf")
                ids = [msg for at, msg in pushed if start <= at < end]
                r.lost = sum(1 for msg in ids if counts[msg] == 0)
                r.dup = sum(counts[msg] - 1 for msg in set(ids) if counts[msg] > 1)


# -- the table ------------------------------------------------------------------------------------
def _num(v: float | int | None, fmt: str = "{:.2f}") -> str:
    return "-" if v is None else fmt.format(v)


def render(qq: list[Result], bp: list[Result], quick: bool, bounds: Bounds, problems: list[str]) -> str:
    bp_by = {r.row: r for r in bp}
    lines = [f"# Fault matrix on real sockets ({'quick' if quick else 'full'} mode)", "",
             "| fault | qqgate outcome | qqgate recover s | qqgate lost | qqgate dup | botpy outcome | "
             "botpy recover s | botpy lost | botpy dup |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in qq:
        b = bp_by.get(r.row)
        bcells = ([b.outcome, _num(b.recover_s), _num(b.lost, "{}"), _num(b.dup, "{}")] if b is not None
                  else ["not run (botpy not installed)" if not HAVE_BOTPY else "not run", "-", "-", "-"])
        lines.append("| " + " | ".join([r.row, r.outcome, _num(r.recover_s), _num(r.lost, "{}"), _num(r.dup, "{}"),
                                        *bcells]) + " |")
    lines += ["", "## How each column is measured", "",
              f"- Time scale {SCALE:g}: the chaos gateway's model runs {SCALE:g}× wall time, so Hello says "
              f"{41250 / SCALE:.0f} ms. The server heartbeat timeout is lifted to 120 s wall and the resume window "
              f"to 600 s wall, so botpy's fixed 30 s heartbeat keeps its sessions alive. No op 7 cycle; one C2C "
              f"message dispatch every ~{MESSAGE_GAP_WALL_S:g} s wall (exponential gaps) while a session is live.",
              "- Clients: `qqgate run` (default core.Config, journal on) and botpy 1.2.1 "
              "(tests/peers/botpy_echo.py, unmodified), each in a subprocess against a gateway of its own "
              "(so botpy's 5 s reconnect sleep never delays qqgate's rows); the two sequences run in parallel. "
              "Rows run in the order shown on one long-lived process per client; before each row the client must "
              f"be settled (a live session and no new connection for {BOTPY_FLOOR_S:g} s). A client that did not "
              "recover or exited is replaced by a fresh process before the next row. 4914 is the last row on the "
              "long-lived process; 4915 runs on a fresh gateway and a fresh process.",
              "- Faults are triggered with `ChaosGateway.trigger` on every live connection. Window faults "
              "(refused/stalled connects, DNS outage = every TCP connection reset, resumes rejected) start at the "
              "trigger and are combined with a drop (or 4009) so the client has to reconnect through them; their "
              "recovery time includes the window. The op 9 row is `InvalidateSessions`, which in this gateway "
              "itself drops every live connection with no close frame, so the client's Resume gets op 9 then "
              "close 4006; the restart row adds a 2 s refused-connect window.",
              f"- outcome: `recovered (resume|identify)` = the gateway emitted `server_established` (READY or "
              f"RESUMED sent) on a new connection within {bounds.recover_s:g} s of the trigger; the word in "
              f"brackets says whether that connection carried a Resume or an Identify. `stopped: wrong` = the "
              f"process exited on a recoverable fault. `not recovered within N s` = neither. Fatal rows: "
              f"`{RIGHT_FATAL}` = `qqgate run` printed `FATAL final (close CODE)` with the banned code and exited "
              f"with status 1 within {bounds.fatal_s:g} s; otherwise the number of new connections it opened in "
              f"that time.",
              "- The 4008 row waits up to 75 s: qqgate's rule for 4008 is a fixed `Config.ratelimit_cooldown_s` "
              "(60 s wall, not scaled). qqgate's Identify rows are paced by `Config.identify_window_s` (5 s between "
              "Identifies). A `ServerClose(4006/4007/49xx)` in this gateway does not invalidate the session on the "
              "server, so a client that resumes anyway (botpy) is accepted; qqgate identifies, as its close-code "
              "table says. A stalled connect is held by the gateway until the client hangs up, so recovery from it "
              "is bounded by the client's connect/Hello timeout (qqgate: 15 s).",
              "- recover s: wall seconds from the trigger to that `server_established` event (gateway clock).",
              "- lost: message ids the gateway pushed (`ChaosGateway.pushed`) between this row's trigger and the next "
              "row's trigger that never reached the client's handler by the end of the run (resume replays count "
              "as delivered). qqgate: the `dispatch ... C2C_MESSAGE_CREATE` lines `qqgate run` prints on stdout; "
              "botpy: the `botpy-echo: got <id>` line its handler prints before answering through the send endpoint.",
              "- dup: extra deliveries to the handler of message ids pushed in the same window (a duplicate push "
              "with the same `d.id`, or a replay of an already delivered dispatch).",
              "- duplicate dispatches row: for a few seconds every message is pushed twice (same `d.id`, next seq); "
              "no disconnect, so no recovery time.",
              "- no Hello / no READY: the chaos gateway has no fault for either; those rows are not measured."]
    if problems:
        lines += ["", "## Totals and problems in this run", ""] + [f"- {p}" for p in problems]
    return "\n".join(lines) + "\n"


def measure(quick: bool, only: Callable[[Row], bool] | None = None, botpy: bool = True,
            bounds: Bounds | None = None) -> tuple[list[Result], list[Result], list[str], Bounds]:
    bounds = bounds or (Bounds(25.0, 10.0) if quick else Bounds(40.0, 30.0))
    table = [r for r in rows(quick) if only is None or only(r)]
    with tempfile.TemporaryDirectory(prefix="qqgate-faults-") as name:
        tmp = Path(name)
        runners = [Runner("qqgate", tmp, bounds)]
        if botpy and HAVE_BOTPY:
            runners.append(Runner("botpy", tmp, bounds))
        threads = [threading.Thread(target=r.run, args=(table,), name=f"faults-{r.client}", daemon=True)
                   for r in runners]
        for t in threads:
            t.start()
        limit = time.monotonic() + 900
        for t in threads:
            t.join(max(1.0, limit - time.monotonic()))
    problems = [f"{r.client}: {r.problem}" for r in runners if r.problem]
    problems += [f"(info) {r.totals}" for r in runners if r.totals]
    return runners[0].results, (runners[1].results if len(runners) > 1 else []), problems, bounds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.faults", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short windows (10 s refused connects)")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("FAULTS.md"))
    args = parser.parse_args(argv)
    t0 = time.monotonic()
    qq, bp, problems, bounds = measure(args.quick)
    text = render(qq, bp, args.quick, bounds, problems)
    from . import _webhook_faults  # the webhook transport's rows: their own section
    text += "\n" + _webhook_faults.render(_webhook_faults.measure(args.quick), args.quick)
    from . import _embedding  # a handler that blocks: heartbeat gaps, qqgate and botpy
    text += "\n" + _embedding.render_fault_section(_embedding.gap_runs(args.quick))
    text += f"\nRun time: {time.monotonic() - t0:.0f} s.\n"
    print(text)
    args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
