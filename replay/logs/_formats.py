"""Line formats: what stands in front of a message, and what wraps a whole line.

A line is first unwrapped (a docker json-file record, a journald prefix, a docker compose
``service | `` column), then its prefix is read by the first format below that matches it. A
format names the line shape (``fmt``) and, when the shape is a client's own, the client
(botpy's ``[INFO] (gateway.py:56)on_closed``, NoneBot's ``nonebot | QQ |``, Koishi's
``[W] adapter``, ...). Shapes come from the clients' logger configurations (research notes,
formats.md) and from the real lines in logs_samples/real/:

==================  ===============================================================================
hermes logging      ``2026-05-14 01:03:20,762 INFO [sid] gateway.platforms.qqbot.adapter: [QQBot:1] ...``
time/level prefix   what reporters shorten it (and many other loggers) to: a date-time, a bare time,
                    ``MM-DD HH:MM``, a level column or ``LEVEL:`` - with no logger and no tag
botpy               ``[INFO]\\t(gateway.py:56)on_closed\\t[botpy] ...`` (tabs often spaces; ANSI colour)
astrbot             ``[2026-04-21 17:42:25.836] [Core] [INFO] [qqofficial.x:131]: ...``
nonebot             ``06-01 20:54:32 [WARNING] nonebot | QQ | ...`` (``QQ Guild`` before 2023-09)
koishi              ``2025-06-24 17:02:49 [W] adapter ...`` (one-letter level, logger name)
tracing             ``2026-03-26T08:24:29.632449Z WARN zeroclaw::channels::qq: ...`` (Rust)
zig std.log         ``info(qq): ...``
openclaw            ``06:23:20 [qqbot] [qqbot:default] ...``, ``[qqbot:default] ...``
bot-node-sdk        ``[CLIENT] 连接关闭 4009``
bracketed           ``[2022-03-23 03:05:08][WARNING] ...``, ``[2025-01-20 11:29:50 +0000] [1] [INFO] ...``
python basic        ``INFO:uvicorn.error:...`` (``logging.basicConfig``'s default)
==================  ===============================================================================

Nothing here raises on input text; every regex is anchored and bounded.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, replace

import orjson

from ._events import NO_TIME, LineTime

MAX_LINE_CHARS = 8192
"""Only the first this-many characters of a line are read (keeps every regex linear-time)."""

_ANSI_RE = re.compile(r"\x1b\[[0-9;]{0,32}m")

_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}

DEFAULT_YEAR = 2000
"""The year given to dates that carry none (``MM-DD``, journald's ``May 08``) when nothing else
says which year it is: only differences between such dates are used then."""


@dataclass(frozen=True, slots=True)
class Prefix:
    """What a line's prefix says.

    ``fmt``: the line shape (a name from the module docstring, or ``"bare"`` for no prefix);
    ``client``: the client the shape belongs to, when it names one; ``component``: the logger,
    scope or tag in the prefix (``gateway.run``, ``nonebot``, ``adapter``); ``source``: a source
    location when shown (botpy's ``gateway.py:56``); ``year_known``: the date in ``time`` has
    a real year (only those date a client version).
    """

    fmt: str
    client: str | None
    time: LineTime
    level: str | None
    message: str
    component: str | None = None
    source: str | None = None
    year_known: bool = False


# -- time stamps --------------------------------------------------------------------------------

_TIME = (
    r"(?:(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})|(?P<mo2>\d{2})-(?P<d2>\d{2}))?[ T]?"
    r"(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<frac>\d{1,9}))?)?"
    r"(?P<tz>Z|[+-]\d{2}:?\d{2}|\s[+-]\d{4})?"
)


_DAYS: dict[tuple[int, int, int], int | None] = {}
"""(year, month, day) → date ordinal (None: no such date): logs hold few days, read millions of times."""


def line_time(m: re.Match[str], default_year: int | None = None) -> tuple[LineTime, bool] | None:
    """The :class:`LineTime` of a match of ``_TIME``'s groups, and whether its year is real;
    None when the numbers are no valid date or time."""
    return time_of(m.groupdict(), default_year)


def time_of(g: dict[str, str | None], default_year: int | None = None) -> tuple[LineTime, bool] | None:
    """:func:`line_time` from the groups as a dict."""
    h_text, mi_text = g["h"], g["mi"]
    assert h_text is not None and mi_text is not None
    h, mi = int(h_text), int(mi_text)
    sec_text = g.get("s")
    sec = int(sec_text) if sec_text else 0
    if h > 23 or mi > 59 or sec > 60:
        return None
    frac = g.get("frac")
    clock = h * 3600.0 + mi * 60.0 + sec + (float("0." + frac) if frac else 0.0)
    resolution = 10.0 ** -len(frac) if frac else (1.0 if sec_text else 60.0)
    tz = g.get("tz")
    utc = tz is not None and tz.strip() in ("Z", "+0000", "+00:00")
    y_text, mo_text, d_text = g.get("y"), g.get("mo"), g.get("d")
    year_known = y_text is not None
    if y_text is not None and mo_text is not None and d_text is not None:
        key = (int(y_text), int(mo_text), int(d_text))
    elif g.get("mo2") is not None:
        key = (default_year or DEFAULT_YEAR, int(g["mo2"] or 0), int(g["d2"] or 0))
    else:
        return LineTime(None, clock, resolution, utc), False
    day = _DAYS.get(key, -1)
    if day == -1:
        try:
            day = _dt.date(*key).toordinal()
        except ValueError:
            day = None
        if len(_DAYS) < 100_000:
            _DAYS[key] = day
    if day is None:
        return None
    return LineTime(day, clock, resolution, utc, year_known), year_known


_LEVEL = r"(?P<level>DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL|TRACE|SUCCESS|NOTICE)"
_LEVEL_NAMES = {"WARN": "WARNING", "FATAL": "CRITICAL", "W": "WARNING", "I": "INFO", "E": "ERROR",
                "D": "DEBUG", "S": "SUCCESS", "T": "TRACE", "ERR": "ERROR", "WARNING": "WARNING",
                "INFO": "INFO", "DEBUG": "DEBUG", "ERROR": "ERROR"}


def _level(text: str | None) -> str | None:
    if not text:
        return None
    up = text.upper()
    return _LEVEL_NAMES.get(up, up)


# -- whole-line envelopes ----------------------------------------------------------------------

_JOURNALD_RE = re.compile(
    r"(?P<mon>[A-Z][a-z]{2}) {1,2}(?P<day>\d{1,2}) (?P<h>\d{2}):(?P<mi>\d{2}):(?P<s>\d{2})(?:\.(?P<frac>\d{1,6}))?"
    r" [\w.-]{1,64} [\w./@-]{1,64}(?:\[\d{1,10}\])?: ")
_COMPOSE_RE = re.compile(r"[\w.-]{1,64}(?:-\d{1,4})?\s{1,32}\| ")


@dataclass(frozen=True, slots=True)
class Unwrapped:
    """A line taken out of its envelope: ``inner`` text, ``envelope`` name (``"docker json"``,
    ``"journald"``, ``"compose"``) and the envelope's own time (``NO_TIME`` when it has none)."""

    inner: str
    envelope: str | None
    time: LineTime = NO_TIME
    year_known: bool = False


def unwrap(line: str, default_year: int | None = None) -> Unwrapped:
    """Take ``line`` out of a docker json-file record, a journald prefix or a compose column."""
    s = line
    if not (s[:1] == "{" or s[:3].lower() in _MONTHS or "| " in s[:80]):
        return Unwrapped(s, None)
    if s.startswith('{"log":'):
        try:
            record = orjson.loads(s)
        except orjson.JSONDecodeError:
            record = None
        if isinstance(record, dict) and isinstance(record.get("log"), str):
            inner = record["log"].rstrip("\n").rstrip("\r")
            stamp = record.get("time")
            t, known = NO_TIME, False
            if isinstance(stamp, str):
                m = _STAMP_RE.match(stamp)
                got = line_time(m, default_year) if m else None
                if got is not None:
                    t, known = got
            return Unwrapped(inner, "docker json", t, known)
    m = _JOURNALD_RE.match(s)
    if m is not None and m.group("mon").lower() in _MONTHS:
        frac = m.group("frac")
        clock = int(m.group("h")) * 3600.0 + int(m.group("mi")) * 60.0 + int(m.group("s")) \
            + (float("0." + frac) if frac else 0.0)
        try:
            day = _dt.date(default_year or DEFAULT_YEAR, _MONTHS[m.group("mon").lower()],
                           int(m.group("day"))).toordinal()
        except ValueError:
            day = None
        if day is not None and clock < 86401:
            return Unwrapped(s[m.end():], "journald", LineTime(day, clock, 10.0 ** -len(frac) if frac else 1.0),
                             default_year is not None)
    m = _COMPOSE_RE.match(s)
    if m is not None:
        return Unwrapped(s[m.end():], "compose")
    return Unwrapped(s, None)


_STAMP_RE = re.compile(_TIME)


# -- prefixes ---------------------------------------------------------------------------------

_BRACKET_TIME = r"\[" + _TIME + r"\]"
_FORMATS: tuple[tuple[str, str | None, re.Pattern[str]], ...] = tuple(
    (name, client, re.compile(pattern)) for name, client, pattern in (
        # botpy: [LEVEL]\t(file.py:N)func\t<message>, optionally after a file handler's asctime
        ("botpy", "botpy",
         r"(?:" + _TIME + r"\s+)?\[" + _LEVEL + r"\]\s*\((?P<source>[\w.]{1,64}\.py:\d{1,6})\)"
         r"(?P<func>\w{1,64})\s+"),
        # AstrBot: [date time.mmm] [Core] [LEVEL]([v4.x])? [module:line]: message
        ("astrbot", "astrbot",
         _BRACKET_TIME + r"\s+\[(?P<component>[^\]\s]{1,32})\]\s+\[" + _LEVEL + r"\](?:\[[^\]]{0,32}\])?"
         r"\s+\[(?P<source>[^\]\s]{1,128})\]:\s*"),
        # NoneBot (loguru): MM-DD HH:mm:ss [LEVEL] nonebot | QQ | message
        ("nonebot", None,
         _TIME + r"\s+\[" + _LEVEL + r"\]\s+(?P<component>[\w.]{1,64})\s+\|\s+"
         r"(?:(?P<adapter>QQ(?: Guild)?)\s+\|\s+)?"),
        # Koishi / cordis: YYYY-MM-DD HH:MM:SS [W] name message
        ("koishi", None, _TIME + r"\s+\[(?P<level>[DIWEST])\]\s+(?P<component>[\w:./-]{1,64})\s+"),
        # Rust tracing: RFC 3339 UTC, level, target: message
        ("tracing", None,
         r"(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})T(?P<h>\d{2}):(?P<mi>\d{2}):(?P<s>\d{2})(?:\.(?P<frac>\d{1,9}))?"
         r"(?P<tz>Z|[+-]\d{2}:?\d{2})\s+" + _LEVEL + r"\s+(?P<component>\w{1,64}(?:::\w{1,64}){0,8}):\s+"),
        # Zig std.log: level(scope): message
        ("zig std.log", None, r"(?P<level>debug|info|warning|err)\((?P<component>\w{1,32})\):\s+"),
        # [date time][LEVEL] message (QQ-official-guild-bot and the like)
        ("bracketed", None, _BRACKET_TIME + r"\s*\[" + _LEVEL + r"\]\s*"),
        # [date time +0000] [pid] [LEVEL] message (hypercorn / gunicorn access and error logs)
        ("bracketed", None, _BRACKET_TIME + r"\s+\[\d{1,10}\]\s+\[" + _LEVEL + r"\]\s+"),
        # logging.basicConfig default: LEVEL:name:message
        ("python basic", None, _LEVEL + r":(?P<component>[\w.]{0,64}):"),
        # OpenClaw: [time] [subsystem] [qqbot:<account>] message; the account prefix alone too
        ("openclaw", None,
         r"(?:" + _TIME + r"\s+)?\[(?P<component>qqbot|session-store|[a-z][\w-]{1,31})\]\s+"
         r"(?:\[qqbot:(?P<account>[^\]\s]{1,64})\]\s+)?"),
        ("openclaw", "openclaw", r"\[qqbot:(?P<account>[^\]\s]{1,64})\]\s+"),
        # bot-node-sdk: [CLIENT] message
        ("bot-node-sdk", "bot-node-sdk", r"\[CLIENT\]\s*"),
    ))

def _suffixed(pattern: str, k: int) -> str:
    return re.sub(r"\(\?P<(\w+)>", lambda m: f"(?P<{m.group(1)}_{k}>", pattern)


_COMBINED = re.compile("|".join(f"(?P<_f{k}>){_suffixed(pattern.pattern, k)}"
                                for k, (_, _, pattern) in enumerate(_FORMATS)))
"""Every format above as one alternation (tried left to right, like the table): one match per line."""

_KOISHI_CLIENTS = {"adapter": "satori", "qq": "satori"}
_TRACING_CLIENTS = ("zeroclaw::channels::qq", "zeroclaw")
_NONEBOT_CLIENTS = {"QQ": "nonebot", "QQ Guild": "nonebot"}

# hermes and every shortened form: [time] [LEVEL[:]] [[sid]] [logger:] [[QQBot...]] message
_GEN_TIME_RE = re.compile(r"\[?" + _TIME + r"\]?(?=\s|$)\s*")
_GEN_LEVEL_RE = re.compile(r"(?P<level>DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL|TRACE|SUCCESS|NOTICE|debug|info|warning|warn|error|critical|fatal|trace|success|notice)"
                           r"(?::\s*|\s+|$)")
_LOGGER = r"[A-Za-z_]\w{0,63}(?:\.[A-Za-z_]\w{0,63}){1,8}"
_GEN_SID_RE = re.compile(r"\[(?P<sid>[^\]\s]{1,128})\]\s+(?=" + _LOGGER + r":)")
_GEN_LOGGER_RE = re.compile(r"(?P<logger>" + _LOGGER + r"):(?:\s+|$)")
_GEN_VERBOSE_RE = re.compile(r"-\s(?P<logger>" + _LOGGER + r")\s-\s" + _LEVEL + r"(?:\s\[[^\]]{1,128}\])?\s-\s")
_GEN_TAG_RE = re.compile(r"\[(?P<tag>QQBot(?::[^\]\s]{0,64})?)\]\s*")

HERMES_QQ_LOGGERS = ("gateway.platforms.qqbot", "gateway.platforms.qq")
"""Loggers of hermes' QQ adapter (``.adapter``, the older single-file module)."""
HERMES_LOGGERS = ("gateway.", "agent.", "tools.", "hermes", "cron.", "run_agent")
"""Loggers of the rest of a hermes process: lines of other components."""


def read_prefix(line: str, default_year: int | None = None) -> Prefix:
    """The :class:`Prefix` of one line (already unwrapped); ``fmt`` is ``"bare"`` when the line
    has no prefix at all and the whole line is the message."""
    s = _ANSI_RE.sub("", line[:MAX_LINE_CHARS]) if "\x1b" in line else line[:MAX_LINE_CHARS]
    s = s.strip()
    if s[:1].isdigit() and s[10:11] != "T":
        # the common case, hermes' logging format: a stamp then a level or a logger. No other
        # format has those two together (the others put a bracket, a "T" or a tab after the stamp).
        fast = _GENERIC_RE.match(s)
        if fast is not None and fast.group("h") is not None and (fast.group("level") or fast.group("logger")):
            g = fast.groupdict()
            got = time_of(g, default_year)
            if got is not None:
                return _generic_prefix(got[0], got[1], _level(g["level"] or g["vlevel"]), g["logger"] or g["vlogger"],
                                       g["tag"], s[fast.end():].strip())
    combined = _COMBINED.match(s)
    if combined is None:
        return _generic(s, default_year)
    first = next(k for k in range(len(_FORMATS)) if combined.group(f"_f{k}") is not None)
    for k in range(first, len(_FORMATS)):
        name, client, pattern = _FORMATS[k]
        if k == first:
            suffix = f"_{k}"
            g = {key[:-len(suffix)]: v for key, v in combined.groupdict().items() if key.endswith(suffix)}
            end = combined.end()
        else:
            m = pattern.match(s)
            if m is None:
                continue
            g, end = m.groupdict(), m.end()
        t, known = NO_TIME, False
        if g.get("h") is not None:
            got = time_of(g, default_year)
            if got is None:
                continue
            t, known = got
        component = g.get("component")
        who = client
        if name == "koishi":
            who = _KOISHI_CLIENTS.get(component or "")
        elif name == "tracing":
            who = "zeroclaw" if (component or "").startswith(_TRACING_CLIENTS) else None
        elif name == "nonebot":
            who = _NONEBOT_CLIENTS.get(g.get("adapter") or "")
            if g.get("adapter"):
                component = f"{component} | {g['adapter']}"
        elif name == "zig std.log":
            who = "nullclaw" if component == "qq" else None
        elif name == "openclaw" and who is None:
            who = "openclaw" if component == "qqbot" or g.get("account") else None
            if component not in ("qqbot", "session-store") and not g.get("account"):
                continue  # some other [tag]: left to the generic reader
        source = g.get("source")
        if name == "botpy" and g.get("func"):
            source = f"{source} {g['func']}"
        return Prefix(name, who, t, _level(g.get("level")), s[end:].strip(), component, source, known)
    return _generic(s, default_year)


_GENERIC_RE = re.compile(
    r"(?:\[?" + _TIME + r"\]?(?=\s|$)\s*)?"
    r"(?:-\s(?P<vlogger>" + _LOGGER + r")\s-\s(?P<vlevel>DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL|TRACE|SUCCESS"
    r"|NOTICE)(?:\s\[[^\]]{1,128}\])?\s-\s"
    r"|(?P<level>DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL|TRACE|SUCCESS|NOTICE|debug|info|warning|warn|error|critical|fatal|trace|success|notice)(?::\s*|\s+|$))?"
    r"(?:\[(?P<sid>[^\]\s]{1,128})\]\s+(?=" + _LOGGER + r":))?"
    r"(?:(?P<logger>" + _LOGGER + r"):(?:\s+|$))?"
    r"(?:\[(?P<tag>QQBot(?::[^\]\s]{0,64})?)\]\s*)?")
"""``_generic``'s pieces as one regex (the pieces one by one remain for a time that does not parse)."""


def _generic(s: str, default_year: int | None) -> Prefix:
    """hermes' logging format and its shortenings; ``bare`` when nothing of a prefix is there."""
    m = _GENERIC_RE.match(s)
    if m is not None:
        g = m.groupdict()
        t, known = NO_TIME, False
        ok = True
        if g.get("h") is not None:
            got = time_of(g, default_year)
            if got is None:
                ok = False
            else:
                t, known = got
        if ok:
            logger = g.get("logger") or g.get("vlogger")
            level = _level(g.get("level") or g.get("vlevel"))
            return _generic_prefix(t, known, level, logger, g.get("tag"), s[m.end():].strip())
    return _generic_slow(s, default_year)


def _generic_prefix(t: LineTime, known: bool, level: str | None, logger: str | None, tag: str | None,
                    message: str) -> Prefix:
    client = None
    if (logger and logger.startswith(HERMES_QQ_LOGGERS)) or tag:
        client = "hermes"
    if logger or tag:
        fmt = "hermes logging"
    elif level or t is not NO_TIME:
        fmt = "time/level prefix"
    else:
        fmt = "bare"
    component = " ".join(x for x in (logger, f"[{tag}]" if tag else None) if x) or None
    return Prefix(fmt, client, t, level, message, component, None, known)


def _generic_slow(s: str, default_year: int | None) -> Prefix:
    """``_generic`` piece by piece: a stamp that is no valid time is then left in the message."""
    pos = 0
    t, known = NO_TIME, False
    m = _GEN_TIME_RE.match(s)
    if m is not None:
        got = line_time(m, default_year)
        if got is not None:
            t, known = got
            pos = m.end()
    level = None
    logger = None
    mv = _GEN_VERBOSE_RE.match(s, pos) if pos else None
    if mv is not None:  # hermes --verbose console: HH:MM:SS - logger - LEVEL - message
        logger, level, pos = mv.group("logger"), _level(mv.group("level")), mv.end()
    else:
        ml = _GEN_LEVEL_RE.match(s, pos)
        if ml is not None:
            level, pos = _level(ml.group("level")), ml.end()
        ms = _GEN_SID_RE.match(s, pos)
        if ms is not None:
            pos = ms.end()
        mg = _GEN_LOGGER_RE.match(s, pos)
        if mg is not None:
            logger, pos = mg.group("logger"), mg.end()
    tag = None
    mt = _GEN_TAG_RE.match(s, pos)
    if mt is not None:
        tag, pos = mt.group("tag"), mt.end()
    return _generic_prefix(t, known, level, logger, tag, s[pos:].strip())


def with_envelope(prefix: Prefix, outer: Unwrapped) -> Prefix:
    """``prefix`` read inside an envelope: the envelope's time when the line has none, and the
    envelope named in ``fmt`` (``docker json / bracketed``)."""
    if outer.envelope is None:
        return prefix
    t, known = prefix.time, prefix.year_known
    if t.clock_s is None and outer.time.clock_s is not None:
        t, known = outer.time, outer.year_known
    return replace(prefix, fmt=f"{outer.envelope} / {prefix.fmt}", time=t, year_known=known)
