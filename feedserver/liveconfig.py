"""The config in force, and reloading it (SIGHUP, `feedserver reload`) while the server runs.

Services keep a reference to one `LiveConfig` and read `live.current` when they need a
network, a profile, a key or a staff member, so a reload reaches them all at once; the few
that derive something from the config (credential digests, push groups, webhook senders,
planned renders) subscribe and are told the new config. Nothing copies it at start.

What changes live: `networks` (with their profiles, keys and webhooks) and `staff`. Every
other setting is read once at start (the listen address and workers are sockets and processes
already made; storage and data_dir hold the open store; render, push, webhook tuning and the
alert settings are baked into running tasks, pools and documents; upstreams, signing and
cap_ingest are loaded files and running pollers). A reload that changes any of them is refused
whole, naming them, rather than half applied: the running config stays exactly as it was, and
the operator restarts to apply it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import fields, is_dataclass

from feedserver.config import Config, ConfigError

log = logging.getLogger(__name__)

LIVE_SECTIONS = ("networks", "staff")

Listener = Callable[[Config], None]


class LiveConfig:
    def __init__(self, config: Config) -> None:
        self.current = config
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        """`listener(new)` after each reload, in the order subscribed."""
        self._listeners.append(listener)

    def apply(self, config: Config) -> None:
        self.current = config
        for listener in self._listeners:
            try:
                listener(config)
            except Exception:  # one part failing must not keep the others on the old config
                log.exception("applying the reloaded config failed in %r", listener)


def restart_only_changes(old: Config, new: Config) -> list[str]:
    """The settings outside `LIVE_SECTIONS` that differ (`server.listen`, `storage`, ...)."""
    changed = []
    for section in (f.name for f in fields(Config) if f.name not in LIVE_SECTIONS):
        before, after = getattr(old, section), getattr(new, section)
        if before == after:
            continue
        if is_dataclass(before):
            changed.extend(f"{section}.{f.name}" for f in fields(before)
                           if getattr(before, f.name) != getattr(after, f.name))
        else:
            changed.append(section)
    return changed


def summary(old: Config, new: Config) -> str:
    """What a reload changes, by id (never a token or key)."""
    before = {n.id: n for n in old.networks}
    after = {n.id: n for n in new.networks}
    parts = [f"{verb} {', '.join(ids)}" for verb, ids in (
        ("networks added:", sorted(after.keys() - before.keys())),
        ("networks removed:", sorted(before.keys() - after.keys())),
        ("networks changed:", sorted(i for i in before.keys() & after.keys()
                                     if before[i] != after[i])),
    ) if ids]
    if old.staff != new.staff:
        parts.append(f"staff: {len(new.staff)} members")
    return "; ".join(parts) or "no changes"


def reload(live: LiveConfig, load: Callable[[], Config]) -> bool:
    """Read and check the config again and put it in force, or refuse it (logged) and keep the
    running one. `load` raises ConfigError with the same message `serve` stops with."""
    try:
        new = load()
    except ConfigError as exc:
        log.error("config reload refused, the running config stays in force: %s", exc)
        return False
    fixed = restart_only_changes(live.current, new)
    if fixed:
        log.error("config reload refused, the running config stays in force: %s can only "
                  "change with a restart (only networks and staff change live)",
                  ", ".join(fixed))
        return False
    log.info("config reloaded: %s", summary(live.current, new))
    live.apply(new)
    return True
