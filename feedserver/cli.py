"""Command line: `feedserver serve`, `check-config`, `render`, `keys`, and the operator's
commands."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace

from aiohttp import web

from feedserver import serving
from feedserver.access_log import PathOnlyAccessLogger
from feedserver.app import create_app
from feedserver.appkeys import CONFIG
from feedserver.cluster.workers import (
    Supervisor,
    end_with_supervisor,
    prepare_store,
    worker_command,
)
from feedserver.config import LOG_FORMATS, MAX_WORKERS, Config, ConfigError, load_config
from feedserver.lifecycle import (
    NotRunning,
    ReloadRequests,
    pid_file,
    reload_on_sighup,
    running_pid,
)
from feedserver.liveconfig import reload
from feedserver.logs import setup_logging
from feedserver.ops.cli import add_ops_commands
from feedserver.ops.metrics import prepare_host, worker_gone
from feedserver.render import LAYOUT_NAMES, layouts
from feedserver.render.cli import add_render_command
from feedserver.signing.cli import add_keys_command
from feedserver.store.base import StoreUnavailable
from feedserver.store.migrations import SchemaTooNew

DEFAULT_CONFIG = "config/feedserver.yaml"


def _read(path: str) -> Config:
    """The config file, checked; a ConfigError's message starts with the file's path."""
    try:
        return load_config(path, LAYOUT_NAMES)
    except ConfigError as exc:
        if str(exc).startswith(path):
            raise
        raise ConfigError(f"{path}: {exc}") from exc


def _load(path: str) -> Config:
    try:
        return _read(path)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(2) from exc


def _check_layouts() -> str:
    try:
        return layouts.check()
    except ValueError as exc:
        print(f"layouts: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc


DEMO_PREFIX = "demo-"  # the demo config's tokens and keys are public examples


def demo_warning(config: Config) -> str | None:
    """A loud warning when the demo's public tokens guard a server others can reach."""
    host, _ = config.server.host_port
    if host == "localhost" or _is_loopback(host):
        return None
    public = [s.name for s in config.staff if s.token.startswith(DEMO_PREFIX)] + \
        [n.id for n in config.networks if any(k.startswith(DEMO_PREFIX) for k in n.keys)]
    if not public:
        return None
    return (f"SERVING ON {host} WITH THE DEMO CONFIG'S PUBLIC TOKENS OR KEYS ({', '.join(public)})"
            ": anyone can publish an alert. Set FEEDSERVER_*_TOKEN and the network keys through"
            " the environment, or listen on 127.0.0.1.")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(args: argparse.Namespace) -> int:
    reloads = ReloadRequests()  # SIGHUP: noted from here on, done when the server can
    config = _load(args.config)
    where = _check_layouts()
    if args.listen:
        config = _with_listen(config, args.listen)
    setup_logging(args.log_format or config.logging.format)

    def load() -> Config:  # again, on SIGHUP: the same file with the same overrides
        reread = _read(args.config)
        return _with_listen(reread, args.listen) if args.listen else reread

    workers = args.workers or config.server.workers
    if workers > 1 and not args.worker:
        with pid_file(config.data_dir):
            prepare_host(config.data_dir)  # before the workers start: they inherit where to count
            try:
                prepare_store(config)
            except (SchemaTooNew, StoreUnavailable) as exc:
                return _storage_failed(exc)
            command = worker_command(args.config, config.server.listen, args.log_format)
            return Supervisor(command, workers, config.server.shutdown_grace_seconds, load,
                              reloads.take, worker_gone).run()
    if args.worker:
        end_with_supervisor()
    logging.getLogger("feedserver").info(where)
    warning = demo_warning(config)
    if warning:
        for _ in range(3):  # loud: it must not scroll by unseen
            logging.getLogger("feedserver").warning(warning)
    host, port = config.server.host_port
    # uvloop (in feedserver.serving) takes 10-20% off every poll's cost; the access log (off
    # unless configured) a quarter: thousands of screens polling make it noise that errors and
    # metrics do better.
    access_log = {"access_log_class": PathOnlyAccessLogger} if config.server.access_log \
        else {"access_log": None}
    app = create_app(config)
    app.on_startup.append(reload_on_sighup(lambda app: reload(app[CONFIG], load), reloads))
    app.on_shutdown.insert(0, _stop_once)
    if not args.worker:
        app.cleanup_ctx.insert(0, _pid_file_ctx)
    try:
        # SIGTERM: aiohttp stops listening, closes idle connections, runs on_shutdown (push
        # clients are told to reconnect), and gives requests in flight the grace (see
        # feedserver.lifecycle) before the cleanup flushes and closes the store. aiohttp's
        # keep-alive timer runs from a connection's start (or its last answer) until a whole
        # request is in, whatever trickles meanwhile: the header deadline.
        serving.run(app, host, port, reuse_port=args.worker, announce=_announce,
                    shutdown_timeout=config.server.shutdown_grace_seconds,
                    keepalive_timeout=config.limits.header_timeout_seconds, **access_log)
    except (SchemaTooNew, StoreUnavailable) as exc:
        return _storage_failed(exc)
    return 0


def _storage_failed(exc: Exception) -> int:
    print(f"storage: {exc}", file=sys.stderr)
    return 2


def _announce(text: str) -> None:
    """aiohttp's "Running on ..." line, as a log line (so it is JSON when the log is)."""
    logging.getLogger("feedserver").info(text.splitlines()[0])


async def _pid_file_ctx(app: web.Application) -> AsyncIterator[None]:
    with pid_file(app[CONFIG].current.data_dir):
        yield


async def _stop_once(app: web.Application) -> None:
    """Once the stop has begun, another SIGTERM or SIGINT (systemd signals every process of
    the unit; an impatient Ctrl-C) must not cut the cleanup short: it is only logged."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, logging.getLogger("feedserver").info,
                                "already stopping (%s)", signal.Signals(signum).name)


def _worker_count(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"must be a number from 1 to {MAX_WORKERS}")
    return int(text)


def _with_listen(config: Config, listen: str) -> Config:
    return replace(config, server=replace(config.server, listen=listen))


def reload_server(args: argparse.Namespace) -> int:
    """`feedserver reload`: check the file here (a broken one never reaches the server), then
    SIGHUP the server serving its data_dir; the server checks it again and logs the outcome."""
    config = _load(args.config)
    try:
        pid = running_pid(config.data_dir)
    except NotRunning as exc:
        print(exc, file=sys.stderr)
        return 1
    os.kill(pid, signal.SIGHUP)
    print(f"{args.config}: ok; asked feedserver (pid {pid}) to reload it; its log says whether "
          "it did")
    return 0


def check_config(args: argparse.Namespace) -> int:
    config = _load(args.file)
    print(_check_layouts())
    profiles = sum(len(n.profiles) for n in config.networks)
    print(f"{args.file}: ok ({len(config.networks)} networks, {profiles} profiles, "
          f"{len(config.staff)} staff, {len(config.upstreams)} upstreams)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="feedserver", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="start the server")
    serve_cmd.add_argument("--config", default=DEFAULT_CONFIG)
    serve_cmd.add_argument("--listen", help="HOST:PORT, overrides server.listen")
    serve_cmd.add_argument("--workers", type=_worker_count,
                           help="processes serving the port, overrides server.workers")
    serve_cmd.add_argument("--log-format", choices=LOG_FORMATS,
                           help="text or json (one object per line), overrides logging.format")
    serve_cmd.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    serve_cmd.set_defaults(run=serve)
    reload_cmd = commands.add_parser("reload", help="make the running server re-read its config"
                                     " (networks and staff change; see docs/deployment.md)")
    reload_cmd.add_argument("--config", default=DEFAULT_CONFIG)
    reload_cmd.set_defaults(run=reload_server)
    check_cmd = commands.add_parser("check-config", help="validate a config file and exit")
    check_cmd.add_argument("file", nargs="?", default=DEFAULT_CONFIG)
    check_cmd.set_defaults(run=check_config)
    add_render_command(commands)
    add_keys_command(commands, _load, DEFAULT_CONFIG)
    add_ops_commands(commands, _load, DEFAULT_CONFIG)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
