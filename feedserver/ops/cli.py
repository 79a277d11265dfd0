"""`feedserver backup|restore|token|alerts`: what the person on call runs on the server host.

`alerts` works on the store itself, for when the web console cannot be reached: each action
goes through the same alert service as the API, so the rules, the history (the actor is
`cli:<name>`) and the event log are the same, and running servers pick the change up from the
event log as they do any other instance's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from feedserver.alerts.service import STATUSES, AlertService
from feedserver.auth import Actor
from feedserver.config import Config
from feedserver.errors import ApiError
from feedserver.events import EventBus
from feedserver.ops.backup import BackupError, backup, restore
from feedserver.store import POSTGRESQL_SCHEMES, make_store
from feedserver.timeutil import utcnow

PG_DUMP = ("the store is PostgreSQL: back it up with pg_dump -Fc -f OUT DATABASE_URL and "
           "restore with pg_restore --clean -d DATABASE_URL OUT (see README)")


def _sqlite_only(config: Config) -> None:
    if config.storage.startswith(POSTGRESQL_SCHEMES):
        print(PG_DUMP, file=sys.stderr)
        raise SystemExit(2)


def _backup(config: Config, args: argparse.Namespace) -> int:
    _sqlite_only(config)
    result = backup(config.sqlite_path, Path(args.out))
    print(f"{args.out}: backup of {config.sqlite_path} (integrity {result})")
    return 0


def _restore(config: Config, args: argparse.Namespace) -> int:
    _sqlite_only(config)
    restore(Path(args.backup), config.sqlite_path, force=args.force)
    print(f"{config.sqlite_path}: restored from {args.backup}")
    return 0


def _token(config: Config, args: argparse.Namespace) -> int:
    """A new random token for a staff member or a network key (256 bits)."""
    print(secrets.token_urlsafe(32))
    return 0


async def _with_alerts(config: Config, act: Callable[[AlertService], Awaitable[int]]) -> int:
    store = make_store(config.storage, config.sqlite_path)
    await store.open()
    try:
        return await act(AlertService(store, config.alerts, EventBus(), utcnow))
    finally:
        await store.close()


def _alerts(config: Config, args: argparse.Namespace) -> int:
    actor = Actor(f"cli:{args.actor}", "admin")

    async def act(alerts: AlertService) -> int:
        if args.action == "list":
            statuses = args.status.split(",") if args.status else None
            for alert in await alerts.list(statuses):
                print(f"{alert.id}  {alert.status:<9}  {alert.kind:<13}  "
                      f"v{alert.version:<3}  {alert.updated_at}")
            return 0
        if args.alert is None:
            raise ApiError(400, "invalid_arguments", f"alerts {args.action} needs an alert id")
        if args.action == "show":
            alert = await alerts.get(args.alert)
            print(json.dumps({**alert.to_document(), "history": await alerts.history(args.alert)},
                             ensure_ascii=False, indent=2))
            return 0
        if not args.reason:
            raise ApiError(400, "invalid_arguments", "alerts cancel needs --reason")
        cancelled = await alerts.cancel(args.alert, args.reason, actor)
        print(f"{cancelled.id}: cancelled (version {cancelled.version}) by {actor.name}")
        return 0

    return asyncio.run(_with_alerts(config, act))


def _failing_clearly(run: Callable[[Config, argparse.Namespace], int],
                     load: Callable[[str], Config]) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        try:
            return run(load(args.config), args)
        except (BackupError, ApiError) as exc:
            print(exc.message if isinstance(exc, ApiError) else exc, file=sys.stderr)
            return 1
    return command


def add_ops_commands(subparsers: argparse._SubParsersAction,
                     load: Callable[[str], Config], default_config: str) -> None:
    def command(name: str, help_text: str, run: Callable[[Config, argparse.Namespace], int]):
        cmd = subparsers.add_parser(name, help=help_text)
        cmd.add_argument("--config", default=default_config)
        cmd.set_defaults(run=_failing_clearly(run, load))
        return cmd

    command("backup", "copy the SQLite store consistently while the server runs",
            _backup).add_argument("out", help="the backup file to write (must not exist)")
    restore_cmd = command("restore", "replace the SQLite store with a backup (server stopped)",
                          _restore)
    restore_cmd.add_argument("backup")
    restore_cmd.add_argument("--force", action="store_true", help="replace an existing store")
    command("token", "print a new random token for the config", _token)
    alerts_cmd = command("alerts", "list, show or cancel alerts on the store itself", _alerts)
    alerts_cmd.add_argument("action", choices=("list", "show", "cancel"))
    alerts_cmd.add_argument("alert", nargs="?")
    alerts_cmd.add_argument("--status", help=f"comma-separated: {','.join(STATUSES)}")
    alerts_cmd.add_argument("--reason", help="why (cancel; kept in the history)")
    alerts_cmd.add_argument("--as", dest="actor", default="operator",
                            help="who acts (the history names cli:WHO)")
