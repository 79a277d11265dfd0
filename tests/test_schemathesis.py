"""Schemathesis against openapi.yaml, over a real socket to a real `feedserver serve`: every
operation, positive and negative input, without credentials, with an admin token, a network
key or an admin's console session, on made-up ids and on real ones (so requests reach the
handlers). No answer may be a 5xx, and each must match the spec: status code, content type,
headers and body (each SSE event's data too).

Bounded and reproducible: a fixed number of examples per operation, derandomised, no example
database. The summary line (`schemathesis: requests generated N, 5xx seen 0`) is printed."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from support.alerts import amber_alert
from support.api import auth
from support.config import ADMIN, EDITOR, KEY_A, PUBLISHER, config_data
from support.openapi import SPEC_PATH
from support.samples import drawn_photo
from support.servers import ServerProcess

EXAMPLES_PER_OPERATION = 20
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]


@pytest.fixture
def server(tmp_path) -> Iterator[ServerProcess]:
    process = ServerProcess(config_data(tmp_path / "data"), tmp_path)
    asyncio.run(process.start())
    yield process
    process.kill()


def real_ids(url: str) -> dict[str, str]:
    """Path parameters that name things the server has: a published alert with a photo, its
    network and profile, a creative's digest."""
    photo = requests.post(f"{url}/v1/photos", data=drawn_photo(),
                          headers={**auth(EDITOR), "Content-Type": "image/jpeg"}, timeout=30)
    assert photo.status_code == 201, photo.text
    photo_id = photo.json()["id"]
    child = {"name": "Fleur Testkind", "age": 9, "photo": photo_id}
    draft = requests.post(f"{url}/v1/alerts", json=amber_alert(children=[child]),
                          headers=auth(EDITOR), timeout=30).json()
    published = requests.post(f"{url}/v1/alerts/{draft['id']}/publish",
                              headers=auth(PUBLISHER), timeout=30)
    assert published.status_code == 200, published.text
    feed = requests.get(f"{url}/v1/feeds/net-a/landscape", params={"key": KEY_A}, timeout=60)
    digest = feed.json()["alerts"][0]["renders"]["jpg"].rsplit("/", 1)[1].split(".")[0]
    return {"alert_id": draft["id"], "photo_id": photo_id, "network": "net-a",
            "profile": "landscape", "digest": digest}


def credentials(url: str) -> dict[str, dict[str, str]]:
    """None, an admin token, a network key, and an admin's console session."""
    signed_in = requests.post(f"{url}/console/sign-in", data={"token": ADMIN},
                              allow_redirects=False, timeout=30)
    assert signed_in.status_code == 303, signed_in.text
    session = signed_in.cookies["feedserver_session"]
    return {"none": {}, "admin": auth(ADMIN), "network key": auth(KEY_A),
            "console session": {"Cookie": f"feedserver_session={session}"}}


def test_no_generated_request_gets_a_5xx_or_an_answer_the_spec_does_not_describe(server):
    schema = schemathesis.openapi.from_path(SPEC_PATH, config=schemathesis.Config.from_dict({
        "generation": {"with-security-parameters": False, "deterministic": True},
        "max-stream-events": 1, "request-timeout": 60,
        # a screen already up to date hears nothing until a change (keepalive comments aside):
        # its stream is read until a second of silence
        "operations": [{"include-path-regex": "/events$", "request-timeout": 1}],
    }))
    known = real_ids(server.url)
    sent_with = credentials(server.url)
    statuses: Counter[int] = Counter()
    per_operation: Counter[str] = Counter()
    seconds: Counter[str] = Counter()
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    session = requests.Session()
    for operation in operations:
        names = {p.name for p in operation.path_parameters}
        real = {name: known[name] for name in names if name in known}
        cases = st.one_of(*[operation.as_strategy(mode, path_parameters=ids)
                            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
                            for ids in (None, real)])

        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
                  database=None, suppress_health_check=list(HealthCheck))
        @given(case=cases, credentials=st.sampled_from(sorted(sent_with)))
        def run(case, credentials: str) -> None:
            response = case.call(base_url=server.url, session=session,
                                 headers=sent_with[credentials])
            statuses[response.status_code] += 1
            per_operation[case.operation.label] += 1
            try:
                case.validate_response(response, checks=CHECKS)
            except (AssertionError, FailureGroup) as failure:  # all collected, shown at once
                failures.append(f"{case.operation.label} ({credentials}): {failure}"[:2000])

        started = time.monotonic()
        run()
        seconds[operation.label] = time.monotonic() - started
    generated = sum(statuses.values())
    server_errors = sum(n for status, n in statuses.items() if status >= 500)
    print(f"schemathesis: operations {len(operations)}, requests generated {generated}, "
          f"5xx seen {server_errors}, statuses {dict(sorted(statuses.items()))}; slowest "
          + ", ".join(f"{label} {s:.0f} s" for label, s in seconds.most_common(3)))
    assert not failures, "\n\n".join(failures)
    assert server_errors == 0
    assert set(per_operation) == {operation.label for operation in operations}
