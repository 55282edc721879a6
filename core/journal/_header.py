"""The journal header: the first line of every journal, built here and nowhere else.

Schema (a JSON object; keys in this order, optional ones left out when not known)::

    type               "header"
    format             "qqgate-journal" (FORMAT)
    format_version     2 (FORMAT_VERSION); a reader refuses any other
    client             the reducer that was recorded, enough to rebuild it for a replay:
                       {"client": "core", "version": ..., "config": core.Config.to_dict()}
                       (``describe_core``), the webhook reducer:
                       {"client": "webhook", "version": ..., "config": WebhookConfig.to_dict()}
                       (``describe_webhook``), or the legacy model's own description
    scenario           simulated runs: the scenario's name
    seed               the seed of the run (the core's PRNG; the simulated world's)
    hours              simulated runs: simulated hours
    app_id, api_base   live runs: the bot and the OpenAPI base it connected to
    versions           {"qqgate": ..., other libraries: ...}
    session_id         journal stores: the session's UUID (added by the store's recorder)
    started_at_unix_s  journal stores: wall-clock start, seconds since the epoch (likewise)
    started_at_monotonic_s  journal stores: the steps' clock (``time.monotonic()``, what every
                       input's ``at`` is) read at the same moment: a step's wall-clock time is
                       started_at_unix_s + (at - started_at_monotonic_s). Older journals lack it.

Secrets never belong in a header; writers redact it like every step anyway.
"""

from __future__ import annotations

from typing import Any, Mapping

from .. import Config, __version__
from .. import webhook

FORMAT = "qqgate-journal"
FORMAT_VERSION = 2  # 2: ResolveGateway.token, Dispatch.session_epoch, DispatchSettled.session_epoch


def describe_core(config: Config) -> dict[str, Any]:
    """The ``client`` field of a journal recorded with the core and ``config``."""
    return {"client": "core", "version": __version__, "config": config.to_dict()}


def describe_webhook(config: webhook.WebhookConfig) -> dict[str, Any]:
    """The ``client`` field of a journal recorded with the webhook reducer and ``config``."""
    return {"client": "webhook", "version": webhook.__version__, "config": config.to_dict()}


def journal_header(client: Mapping[str, Any], *, seed: int, scenario: str | None = None,
                   hours: float | None = None, app_id: str | None = None, api_base: str | None = None,
                   versions: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The header fields of a journal (everything but the format marker), in schema order.

    ``client``: the reducer's description (``describe_core(config)`` or a model's
    ``describe()``); ``seed``: the run's seed; ``hours`` in simulated hours. ``versions``
    lists library versions besides qqgate's own, which always comes first.
    """
    fields: dict[str, Any] = {"client": dict(client)}
    if scenario is not None:
        fields["scenario"] = scenario
    fields["seed"] = seed
    for name, value in (("hours", hours), ("app_id", app_id), ("api_base", api_base)):
        if value is not None:
            fields[name] = value
    fields["versions"] = {"qqgate": __version__, **(versions or {})}
    return fields


def header_record(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The header line's record: the format marker, then ``fields`` (``journal_header``'s)."""
    head: dict[str, Any] = {"type": "header", "format": FORMAT, "format_version": FORMAT_VERSION}
    head.update(fields)
    return head
