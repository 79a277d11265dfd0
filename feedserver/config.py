"""YAML configuration: ${ENV} in string values, strict validation, messages naming the place.

A mistake in the config must stop the server at start, not surface at 3 a.m. as a blank
billboard, so unknown keys, duplicate ids and bad values are all refused with their path.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import re
from dataclasses import dataclass, field, fields
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import yaml

from feedserver.formats import FORMATS, parse_size

ROLES = ("viewer", "editor", "publisher", "admin")
KINDS = ("amber", "missing_child")
LANGUAGES = ("nl", "en", "de", "fr")
WEBHOOK_FORMATS = ("json", "cap")
WEBHOOK_SCHEMES = ("feedserver", "standard")
UPSTREAM_FORMATS = ("national-json",)
UPSTREAM_MODES = ("publish", "draft")
LOG_FORMATS = ("text", "json")
REGION_RE = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")
HOST_PORT_RE = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[^:\s\[\]/]+):[0-9]{1,5}$")
ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
T = TypeVar("T")
_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(ValueError):
    """A config problem; the message starts with the place (`networks[1].profiles[0].size`)."""


MAX_WORKERS = 64


@dataclass(frozen=True)
class ServerConfig:
    listen: str = "127.0.0.1:8080"
    public_url: str = "http://127.0.0.1:8080"
    data_dir: str = "./data"
    access_log: bool = False
    workers: int = 1  # processes serving one port (SO_REUSEPORT), see feedserver.cluster
    fetch_allow: tuple[str, ...] = ()  # "host:port" image fetches may reach although not public
    shutdown_grace_seconds: int = 15  # SIGTERM: how long requests and webhook attempts may finish

    @property
    def host_port(self) -> tuple[str, int]:
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]"), int(port)


@dataclass(frozen=True)
class AlertsConfig:
    resolved_display_seconds: int = 3600
    offline_grace_seconds: int = 900
    poll_after_seconds: int = 30
    four_eyes: bool = False  # a draft is published by someone other than its author and editor
    default_contact: dict[str, str] = field(
        default_factory=lambda: {"phone": "0800-6070", "url": "https://www.politie.nl/amberalert"}
    )


@dataclass(frozen=True)
class PrivacyConfig:
    """How long a child's data is kept once the alert has left the screens."""

    purge_after_seconds: int = 30 * 86400


DURATION_RE = re.compile(r"^([1-9][0-9]{0,5})([smhd])$")
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class RenderConfig:
    """The worker processes that decode photos, read CAP and render creatives."""

    # each holds one job at a time: one per core this process may run on, so a publish
    # uses every core (renders are CPU-bound)
    workers: int = min(len(os.sched_getaffinity(0)), 64)
    # A worker's heap limit: an 8K WebP creative needs about 384 MiB, a 6000x6600 PNG photo
    # about 500 MiB; a job past it fails alone. 0 turns the limit off.
    worker_memory_mb: int = 448


@dataclass(frozen=True)
class PushSettings:
    send_buffer_bytes: int = 64 * 1024  # unsent bytes a client may have before it is dropped
    queue_limit: int = 64               # messages held for a client while it catches up
    keepalive_seconds: float = 15.0
    replay_limit: int = 1000            # more missed events than this: a fresh snapshot
    reconnect_spread_seconds: int = 10  # at shutdown, screens are told to come back within this


@dataclass(frozen=True)
class WebhookSettings:
    backoff_seconds: float = 5.0        # first retry after about this long, doubling each time
    backoff_max_seconds: float = 3600.0
    retry_for_seconds: float = 26 * 3600.0  # then a delivery is given up as failed
    refusal_tries: int = 3  # a 4xx other than 408/429 this often: refused for good, failed
    timeout_seconds: float = 10.0
    idle_check_seconds: float = 60.0    # look at the outbox this often even without a wake-up


LOOPBACK = ("127.0.0.0/8", "::1/128")
Addresses = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


@dataclass(frozen=True)
class AddressOverride:
    """A per-address request rate for some networks of addresses (a NAT in front of a screen
    network); 0 requests per minute is no limit."""

    addresses: Addresses
    requests_per_minute: int


@dataclass(frozen=True)
class LimitsConfig:
    """What one client may take of the server (API.md, limits; README "Limits")."""

    requests_per_minute_per_address: int = 6000
    streams_per_key: int = 50000
    # distinct (profile, screen) receipts recorded per alert version and network
    screens_per_network: int = 100_000
    sign_in_failures_per_hour: int = 20  # per address; then 429 until the hour has passed
    # an address (or an IPv6 /64) whose request limit is not the default
    overrides: tuple[AddressOverride, ...] = ()
    # never limited per address: local tools, monitoring (nothing from afar arrives from here
    # unless a proxy in `trusted_proxies` forwards it, and then the forwarded address counts)
    exempt: Addresses = tuple(ipaddress.ip_network(a) for a in LOOPBACK)
    # X-Forwarded-For is believed only from these (the reverse proxy in deploy/nginx.conf)
    trusted_proxies: Addresses = tuple(ipaddress.ip_network(a) for a in LOOPBACK)
    # a connection's request line and headers must be in within this long of it opening (or
    # of its previous answer); also how long an idle kept-alive connection stays open
    header_timeout_seconds: float = 75.0
    body_timeout_seconds: float = 60.0  # a request body must be in within this long


@dataclass(frozen=True)
class LoggingConfig:
    format: str = "text"  # or "json": one JSON object per line (see feedserver.logs)


@dataclass(frozen=True)
class Staff:
    name: str
    role: str
    token: str


@dataclass(frozen=True)
class Webhook:
    url: str
    secret: str
    format: str = "json"
    scheme: str = "feedserver"  # "standard": signed as Standard Webhooks (webhook-* headers)


@dataclass(frozen=True)
class Profile:
    id: str
    size: tuple[int, int]
    layout: str = "auto"
    formats: tuple[str, ...] = FORMATS
    kinds: tuple[str, ...] = KINDS
    regions: tuple[str, ...] = ("NL",)
    languages: tuple[str, ...] = ("nl",)
    test_alerts: bool = False
    location: tuple[float, float] | None = None  # (lat, lon) where its screens stand

    @property
    def size_text(self) -> str:
        return f"{self.size[0]}x{self.size[1]}"


@dataclass(frozen=True)
class Network:
    id: str
    name: str
    keys: tuple[str, ...]
    profiles: tuple[Profile, ...]
    webhook: Webhook | None = None

    def profile(self, profile_id: str) -> Profile | None:
        return self._profiles_by_id.get(profile_id)

    @cached_property
    def _profiles_by_id(self) -> dict[str, Profile]:
        return {p.id: p for p in self.profiles}


@dataclass(frozen=True)
class Upstream:
    id: str
    url: str
    format: str = "national-json"
    interval_seconds: int = 60
    mode: str = "publish"


STORAGE_SCHEMES = ("sqlite:///", "postgresql://", "postgres://")


@dataclass(frozen=True)
class SigningConfig:
    """PEM files of the signing key and its certificate; without them the server makes a
    pair in data_dir/signing on first start."""

    key: str | None = None
    cert: str | None = None


@dataclass(frozen=True)
class CapIngestConfig:
    """What `POST /v1/ingest/cap` demands of a message's XML-DSig signature."""

    require_signature: bool = False
    trusted_certs: tuple[str, ...] = ()


@dataclass(frozen=True)
class MetricsConfig:
    """Where Prometheus scrapes besides `/metrics` with the admin token: `listen` is a
    separate port that asks for no token, so it is refused on an address other hosts can
    reach unless `allow_remote` says someone thought about it (a firewall)."""

    listen: str | None = None
    allow_remote: bool = False

    @property
    def host_port(self) -> tuple[str, int]:
        host, _, port = (self.listen or "").rpartition(":")
        return host.strip("[]"), int(port)


@dataclass(frozen=True)
class Config:
    server: ServerConfig
    storage: str
    alerts: AlertsConfig
    staff: tuple[Staff, ...]
    networks: tuple[Network, ...]
    upstreams: tuple[Upstream, ...] = ()
    render: RenderConfig = RenderConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    push: PushSettings = PushSettings()
    webhooks: WebhookSettings = WebhookSettings()
    signing: SigningConfig = SigningConfig()
    cap_ingest: CapIngestConfig = CapIngestConfig()
    limits: LimitsConfig = LimitsConfig()
    logging: LoggingConfig = LoggingConfig()
    metrics: MetricsConfig = MetricsConfig()

    def network(self, network_id: str) -> Network | None:
        return self._networks_by_id.get(network_id)

    @cached_property
    def _networks_by_id(self) -> dict[str, Network]:
        return {n.id: n for n in self.networks}

    @property
    def data_dir(self) -> Path:
        return Path(self.server.data_dir)

    @property
    def sqlite_path(self) -> Path:
        """The SQLite file: `sqlite` alone means data_dir/feedserver.db."""
        if self.storage.startswith("sqlite:///"):
            return Path(self.storage.removeprefix("sqlite:///"))
        return self.data_dir / "feedserver.db"


def interpolate(text: str, environ: dict[str, str] | None = None) -> str:
    """Replace ${VAR} and ${VAR:-default}; an unset variable without default is an error."""
    env = os.environ if environ is None else environ

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        value = env.get(name)
        if value is None or (value == "" and default is not None):
            if default is None:
                raise ConfigError(f"environment variable {name} is not set and has no default")
            return default
        return value

    return _ENV_RE.sub(replace, text)


def interpolate_values(data: Any, environ: dict[str, str] | None = None) -> Any:
    """`interpolate` every string value of a parsed document (keys and comments stay as they
    are), so a value from the environment is taken whole: quotes, `#`, `: ` or a newline in a
    token cannot change the YAML around it."""
    if isinstance(data, str):
        return interpolate(data, environ)
    if isinstance(data, dict):
        return {key: interpolate_values(value, environ) for key, value in data.items()}
    if isinstance(data, list):
        return [interpolate_values(item, environ) for item in data]
    return data


class _Reader:
    """Reads one mapping of the YAML document, remembering where it is for messages."""

    def __init__(self, data: Any, path: str) -> None:
        if not isinstance(data, dict):
            raise ConfigError(f"{path or 'config'}: must be a mapping")
        self.data = data
        self.path = path
        self.used: set[str] = set()

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ..., *, required=False):
        self.used.add(key)
        if key not in self.data or self.data[key] is None:
            if required or default is ...:
                raise ConfigError(f"{self.at(key)}: is required")
            return default
        value = self.data[key]
        if isinstance(value, bool) and kind in (int, (int, float)):
            raise ConfigError(f"{self.at(key)}: must be a number, not {value!r}")
        if not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise ConfigError(f"{self.at(key)}: must be {_article(names)}, not {value!r}")
        return value

    def positive(self, key: str, default: int) -> int:
        value = self.get(key, int, default)
        if value <= 0:
            raise ConfigError(f"{self.at(key)}: must be a positive number of seconds, not {value}")
        return value

    def one_of(self, key: str, allowed: tuple[str, ...], default: Any = ...) -> str:
        value = self.get(key, str, default)
        if value not in allowed:
            raise ConfigError(f"{self.at(key)}: {value!r} is not one of {', '.join(allowed)}")
        return value

    def choices(self, key: str, allowed: tuple[str, ...], default: tuple[str, ...]):
        values = self.get(key, list, list(default))
        if not values:
            raise ConfigError(f"{self.at(key)}: must not be empty")
        for i, value in enumerate(values):
            if value not in allowed:
                raise ConfigError(
                    f"{self.at(key)}[{i}]: {value!r} is not one of {', '.join(allowed)}"
                )
        if len(set(values)) != len(values):
            raise ConfigError(f"{self.at(key)}: lists a value twice")
        return tuple(values)

    def items(self, key: str) -> list[_Reader]:
        items = self.get(key, list, [])
        return [_Reader(item, f"{self.at(key)}[{i}]") for i, item in enumerate(items)]

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used, key=str)  # YAML keys may be numbers
        if unknown:
            raise ConfigError(f"{self.at(unknown[0])}: unknown key")


def _article(name: str) -> str:
    return {"str": "a string", "int": "a number", "list": "a list", "dict": "a mapping",
            "bool": "true or false"}.get(name, name)


def _url(reader: _Reader, key: str, default: Any = ...) -> str:
    value = reader.get(key, str, default)
    if value is not None and not re.match(r"^https?://[^\s/]+", value):
        raise ConfigError(f"{reader.at(key)}: {value!r} is not an http(s) URL")
    return value


def _unique_ids(readers: list[_Reader], objects: list[Any]) -> None:
    seen: set[str] = set()
    for reader, obj in zip(readers, objects, strict=True):
        if obj.id in seen:
            raise ConfigError(f"{reader.at('id')}: duplicate id {obj.id!r}")
        seen.add(obj.id)


def _id(reader: _Reader) -> str:
    value = reader.get("id", str, required=True)
    if not ID_RE.match(value):
        raise ConfigError(
            f"{reader.at('id')}: {value!r} must be lower-case letters, digits, '-' or '_'"
        )
    return value


def _server(reader: _Reader) -> ServerConfig:
    listen = reader.get("listen", str, ServerConfig.listen)
    if not re.match(r"^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$", listen):
        raise ConfigError(f"{reader.at('listen')}: {listen!r} is not HOST:PORT")
    server = ServerConfig(
        listen=listen,
        public_url=_url(reader, "public_url", f"http://{listen}").rstrip("/"),
        data_dir=reader.get("data_dir", str, ServerConfig.data_dir),
        access_log=reader.get("access_log", bool, False),
        workers=_workers(reader),
        fetch_allow=_fetch_allow(reader),
        shutdown_grace_seconds=reader.positive("shutdown_grace_seconds",
                                               ServerConfig.shutdown_grace_seconds),
    )
    reader.done()
    return server


def _workers(reader: _Reader) -> int:
    workers = reader.get("workers", int, ServerConfig.workers)
    if not 1 <= workers <= MAX_WORKERS:
        raise ConfigError(f"{reader.at('workers')}: must be a number of processes from 1 to "
                          f"{MAX_WORKERS}, not {workers}")
    return workers


def _fetch_allow(reader: _Reader) -> tuple[str, ...]:
    entries = reader.get("fetch_allow", list, [])
    for i, entry in enumerate(entries):
        if not isinstance(entry, str) or not HOST_PORT_RE.match(entry):
            raise ConfigError(f"{reader.at('fetch_allow')}[{i}]: {entry!r} is not HOST:PORT")
    return tuple(entry.lower() for entry in entries)


def _alerts(reader: _Reader) -> AlertsConfig:
    contact_reader = _Reader(reader.get("default_contact", dict, {}), reader.at("default_contact"))
    defaults = AlertsConfig()
    contact = {
        "phone": contact_reader.get("phone", str, defaults.default_contact["phone"]),
        "url": _url(contact_reader, "url", defaults.default_contact["url"]),
    }
    contact_reader.done()
    alerts = AlertsConfig(
        resolved_display_seconds=reader.positive(
            "resolved_display_seconds", defaults.resolved_display_seconds
        ),
        offline_grace_seconds=reader.positive(
            "offline_grace_seconds", defaults.offline_grace_seconds
        ),
        poll_after_seconds=reader.positive("poll_after_seconds", defaults.poll_after_seconds),
        four_eyes=reader.get("four_eyes", bool, False),
        default_contact=contact,
    )
    reader.done()
    return alerts


def _privacy(reader: _Reader) -> PrivacyConfig:
    text = reader.get("purge_after", str, "30d")
    match = DURATION_RE.match(text)
    if match is None:
        raise ConfigError(f"{reader.at('purge_after')}: {text!r} is not a duration such as "
                          "90s, 15m, 12h or 30d")
    reader.done()
    return PrivacyConfig(int(match.group(1)) * DURATION_UNITS[match.group(2)])


def _render(reader: _Reader) -> RenderConfig:
    workers = reader.get("workers", int, RenderConfig.workers)
    if not 1 <= workers <= 64:
        raise ConfigError(f"{reader.at('workers')}: must be 1 to 64 processes, not {workers}")
    memory = reader.get("worker_memory_mb", int, RenderConfig.worker_memory_mb)
    if memory != 0 and not 128 <= memory <= 1 << 20:
        raise ConfigError(f"{reader.at('worker_memory_mb')}: must be 0 (no limit) or at least "
                          f"128 MiB, not {memory}")
    reader.done()
    return RenderConfig(workers=workers, worker_memory_mb=memory)


def _settings(reader: _Reader, cls: type[T]) -> T:
    """A settings dataclass from its section: every field optional, each a positive number
    (a whole one where the default is whole)."""
    defaults = cls()
    values = {}
    for name in (f.name for f in fields(cls)):
        default = getattr(defaults, name)
        whole = isinstance(default, int)
        value = reader.get(name, int if whole else (int, float), default)
        if value <= 0:
            raise ConfigError(f"{reader.at(name)}: must be a positive number, not {value}")
        values[name] = value if whole else float(value)
    reader.done()
    return cls(**values)


def _addresses(reader: _Reader, key: str, default: Addresses) -> Addresses:
    """A list of addresses or CIDR networks (`203.0.113.7`, `198.51.100.0/24`, `2001:db8::/48`)."""
    entries = reader.get(key, list, None)
    if entries is None:
        return default
    networks = []
    for i, entry in enumerate(entries):
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except (TypeError, ValueError):
            raise ConfigError(f"{reader.at(key)}[{i}]: {entry!r} is not an IP address or "
                              "network such as 203.0.113.7 or 198.51.100.0/24") from None
    return tuple(networks)


def _limits(reader: _Reader) -> LimitsConfig:
    defaults = LimitsConfig()
    counts = {}
    for name in ("requests_per_minute_per_address", "streams_per_key", "screens_per_network",
                 "sign_in_failures_per_hour"):
        value = reader.get(name, int, getattr(defaults, name))
        if value <= 0:
            raise ConfigError(f"{reader.at(name)}: must be a positive number, not {value}")
        counts[name] = value
    seconds = {}
    for name in ("header_timeout_seconds", "body_timeout_seconds"):
        value = reader.get(name, (int, float), getattr(defaults, name))
        if not 1 <= value <= 3600:
            raise ConfigError(f"{reader.at(name)}: must be 1 to 3600 seconds, not {value}")
        seconds[name] = float(value)
    overrides = []
    for item in reader.items("overrides"):
        rate = item.get("requests_per_minute", int, required=True)
        if rate < 0:
            raise ConfigError(f"{item.at('requests_per_minute')}: must be 0 (no limit) or a "
                              f"positive number, not {rate}")
        addresses = _addresses(item, "addresses", ())
        if not addresses:
            raise ConfigError(f"{item.at('addresses')}: must list at least one address")
        overrides.append(AddressOverride(addresses, rate))
        item.done()
    limits = LimitsConfig(
        **counts, **seconds, overrides=tuple(overrides),
        exempt=_addresses(reader, "exempt", defaults.exempt),
        trusted_proxies=_addresses(reader, "trusted_proxies", defaults.trusted_proxies),
    )
    reader.done()
    return limits


def _staff(reader: _Reader) -> Staff:
    role = reader.one_of("role", ROLES)
    token = reader.get("token", str, required=True)
    if len(token) < 8:
        raise ConfigError(f"{reader.at('token')}: must be at least 8 characters")
    staff = Staff(name=reader.get("name", str, required=True), role=role, token=token)
    reader.done()
    return staff


def _profile(reader: _Reader, layouts: frozenset[str]) -> Profile:
    size_text = reader.get("size", str, required=True)
    size = parse_size(size_text)
    if size is None:
        raise ConfigError(
            f"{reader.at('size')}: {size_text!r} is not WIDTHxHEIGHT (16 to 7680 pixels each)"
        )
    layout = reader.get("layout", str, "auto")
    if layouts and layout not in layouts:
        raise ConfigError(
            f"{reader.at('layout')}: unknown layout {layout!r}"
            f" (known: {', '.join(sorted(layouts))})"
        )
    regions = tuple(reader.get("regions", list, ["NL"]))
    for i, region in enumerate(regions):
        if not isinstance(region, str) or not REGION_RE.match(region):
            raise ConfigError(
                f"{reader.at('regions')}[{i}]: {region!r} is not an ISO 3166 code like NL or NL-UT"
            )
    profile = Profile(
        id=_id(reader),
        size=size,
        layout=layout,
        formats=reader.choices("formats", FORMATS, FORMATS),
        kinds=reader.choices("kinds", KINDS, KINDS),
        regions=regions,
        languages=reader.choices("languages", LANGUAGES, ("nl",)),
        test_alerts=reader.get("test_alerts", bool, False),
        location=_location(reader),
    )
    reader.done()
    return profile


def _location(reader: _Reader) -> tuple[float, float] | None:
    data = reader.get("location", dict, None)
    if data is None:
        return None
    place = _Reader(data, reader.at("location"))
    point = []
    for key, limit in (("lat", 90), ("lon", 180)):
        value = place.get(key, (int, float), required=True)
        if not -limit <= value <= limit:
            raise ConfigError(f"{place.at(key)}: must be a number from -{limit} to {limit}")
        point.append(float(value))
    place.done()
    return point[0], point[1]


def _webhook(reader: _Reader) -> Webhook:
    webhook = Webhook(url=_url(reader, "url"), secret=reader.get("secret", str, ""),
                      format=reader.one_of("format", WEBHOOK_FORMATS, "json"),
                      scheme=reader.one_of("scheme", WEBHOOK_SCHEMES, "feedserver"))
    if webhook.scheme == "standard" and not _standard_secret(webhook.secret):
        raise ConfigError(f"{reader.at('secret')}: a Standard Webhooks secret is 'whsec_' and"
                          " the base64 of at least 24 random bytes")
    if not webhook.secret:
        raise ConfigError(f"{reader.at('secret')}: must be set so receivers can verify deliveries")
    reader.done()
    return webhook


def _standard_secret(secret: str) -> bool:
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except ValueError:
        return False
    return len(key) >= 24


def _network(reader: _Reader, layouts: frozenset[str]) -> Network:
    keys = reader.get("keys", list, required=True)
    if not keys or not all(isinstance(k, str) and len(k) >= 8 for k in keys):
        raise ConfigError(f"{reader.at('keys')}: must list keys of at least 8 characters")
    profile_readers = reader.items("profiles")
    if not profile_readers:
        raise ConfigError(f"{reader.at('profiles')}: a network needs at least one profile")
    profiles = [_profile(r, layouts) for r in profile_readers]
    _unique_ids(profile_readers, profiles)
    webhook_data = reader.get("webhook", dict, None)
    network = Network(
        id=_id(reader),
        name=reader.get("name", str, required=True),
        keys=tuple(keys),
        profiles=tuple(profiles),
        webhook=_webhook(_Reader(webhook_data, reader.at("webhook"))) if webhook_data else None,
    )
    reader.done()
    return network


def _upstream(reader: _Reader) -> Upstream:
    upstream = Upstream(
        id=_id(reader),
        url=_url(reader, "url"),
        format=reader.one_of("format", UPSTREAM_FORMATS, "national-json"),
        interval_seconds=reader.positive("interval_seconds", 60),
        mode=reader.one_of("mode", UPSTREAM_MODES, "publish"),
    )
    reader.done()
    return upstream


def _signing(reader: _Reader) -> SigningConfig:
    signing = SigningConfig(key=reader.get("key", str, None), cert=reader.get("cert", str, None))
    if (signing.key is None) != (signing.cert is None):
        raise ConfigError(f"{reader.at('cert' if signing.cert is None else 'key')}: "
                          "key and cert are given together (or neither, to let the server "
                          "make a pair)")
    reader.done()
    return signing


def _cap_ingest(reader: _Reader) -> CapIngestConfig:
    certs = reader.get("trusted_certs", list, [])
    for i, cert in enumerate(certs):
        if not isinstance(cert, str) or not cert:
            raise ConfigError(f"{reader.at('trusted_certs')}[{i}]: must be a PEM file path")
    ingest = CapIngestConfig(require_signature=reader.get("require_signature", bool, False),
                             trusted_certs=tuple(certs))
    if ingest.require_signature and not certs:
        raise ConfigError(f"{reader.at('trusted_certs')}: require_signature needs at least "
                          "one trusted certificate")
    reader.done()
    return ingest


def _logging(reader: _Reader) -> LoggingConfig:
    settings = LoggingConfig(format=reader.one_of("format", LOG_FORMATS, "text"))
    reader.done()
    return settings


def _metrics(reader: _Reader) -> MetricsConfig:
    listen = reader.get("listen", str, None)
    metrics = MetricsConfig(listen=listen, allow_remote=reader.get("allow_remote", bool, False))
    reader.done()
    if listen is None:
        return metrics
    if not HOST_PORT_RE.match(listen):
        raise ConfigError(f"{reader.at('listen')}: {listen!r} is not HOST:PORT")
    host, _ = metrics.host_port
    if not (metrics.allow_remote or _is_loopback(host)):
        raise ConfigError(f"{reader.at('listen')}: {host} is not a loopback address, and this "
                          "port serves /metrics without a token; listen on 127.0.0.1 (or ::1), "
                          "or set metrics.allow_remote: true if a firewall guards it")
    return metrics


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _storage(reader: _Reader) -> str:
    storage = reader.get("storage", str, "sqlite")
    if storage != "sqlite" and not storage.startswith(STORAGE_SCHEMES):
        raise ConfigError(f"storage: {storage!r} is not 'sqlite', 'sqlite:///PATH' or"
                          " 'postgresql://USER@HOST:PORT/DATABASE'")
    return storage


def parse_config(data: Any, layouts: frozenset[str] = frozenset()) -> Config:
    """Validate a parsed YAML document; `layouts` are the known layout names."""
    root = _Reader(data, "")
    staff_readers = root.items("staff")
    staff = [_staff(r) for r in staff_readers]
    tokens = [s.token for s in staff]
    if len(set(tokens)) != len(tokens):
        raise ConfigError("staff: two staff members share a token")
    network_readers = root.items("networks")
    networks = [_network(r, layouts) for r in network_readers]
    _unique_ids(network_readers, networks)
    all_keys = [k for n in networks for k in n.keys]
    if len(set(all_keys)) != len(all_keys) or set(all_keys) & set(tokens):
        raise ConfigError(
            "networks: a key is used twice (by two networks or also as a staff token)"
        )
    upstream_readers = root.items("upstreams")
    upstreams = [_upstream(r) for r in upstream_readers]
    _unique_ids(upstream_readers, upstreams)
    config = Config(
        server=_server(_Reader(root.get("server", dict, {}), "server")),
        storage=_storage(root),
        alerts=_alerts(_Reader(root.get("alerts", dict, {}), "alerts")),
        staff=tuple(staff),
        networks=tuple(networks),
        upstreams=tuple(upstreams),
        render=_render(_Reader(root.get("render", dict, {}), "render")),
        privacy=_privacy(_Reader(root.get("privacy", dict, {}), "privacy")),
        push=_settings(_Reader(root.get("push", dict, {}), "push"), PushSettings),
        webhooks=_settings(_Reader(root.get("webhooks", dict, {}), "webhooks"), WebhookSettings),
        signing=_signing(_Reader(root.get("signing", dict, {}), "signing")),
        cap_ingest=_cap_ingest(_Reader(root.get("cap_ingest", dict, {}), "cap_ingest")),
        limits=_limits(_Reader(root.get("limits", dict, {}), "limits")),
        logging=_logging(_Reader(root.get("logging", dict, {}), "logging")),
        metrics=_metrics(_Reader(root.get("metrics", dict, {}), "metrics")),
    )
    root.done()
    return config


def load_config(path: str | Path, layouts: frozenset[str] = frozenset(),
                environ: dict[str, str] | None = None) -> Config:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 (byte {exc.start})") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
    return parse_config(interpolate_values(data, environ), layouts)
