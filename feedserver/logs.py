"""The process's log: plain text lines, or JSON lines for a log collector.

`logging: {format: json}` (or `serve --log-format json`) writes one JSON object per line for
the application log and the access log alike: `time` (ISO 8601, UTC), `level`, `logger`,
`message`, and for access lines `remote`, `method`, `path`, `status`, `duration_ms`; an
exception's traceback is the `exc_info` member of its line, never lines of its own. What goes
into the log is the same in both formats: alerts are named by id, never by a child's name, and
no query string (it may carry a network key) is ever written.
"""

from __future__ import annotations

import logging
import sys
import time

from pythonjsonlogger.json import JsonFormatter

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def json_formatter() -> logging.Formatter:
    formatter = JsonFormatter("{asctime}{levelname}{name}{message}", style="{",
                              rename_fields={"asctime": "time", "levelname": "level",
                                             "name": "logger"},
                              datefmt="%Y-%m-%dT%H:%M:%SZ", json_ensure_ascii=False)
    formatter.converter = time.gmtime
    return formatter


def setup_logging(log_format: str) -> None:
    """Everything (this server, aiohttp, warnings) to stderr, at INFO, in `log_format`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(json_formatter() if log_format == "json"
                         else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    logging.captureWarnings(True)
