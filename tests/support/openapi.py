"""openapi.yaml as the tests read it, and a client that checks every answer against it."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

SPEC_PATH = Path(__file__).resolve().parents[2] / "feedserver" / "spec" / "openapi.yaml"


class CheckedClient:
    """Sends requests through the test client and checks each answer against the spec."""

    def __init__(self, client, spec: dict) -> None:
        self.client = client
        self.spec = spec
        self.openapi = OpenAPI.from_dict(spec)

    async def call(self, method: str, url: str, *, expect: int, **kwargs):
        response = await self.client.request(method, url, **kwargs)
        body = await response.read()
        assert response.status == expect, body
        parts = urlsplit(url)
        request = MockRequest("http://127.0.0.1:8080", method.lower(), parts.path,
                              args=dict(kwargs.get("params") or {}))
        content_type = response.headers.get("Content-Type", "application/json").split(";")[0]
        if response.status == 304 or content_type == "application/json":
            self.openapi.validate_response(
                request, MockResponse(body, status_code=response.status,
                                      headers=dict(response.headers), content_type=content_type))
        else:
            self.check_media_type(parts.path, method, response.status, content_type)
        return body

    def check_media_type(self, path: str, method: str, status: int, content_type: str) -> None:
        """Images and YAML: the status and media type must be documented."""
        for pattern, item in self.spec["paths"].items():
            regex = "^" + re.sub(r"\{[^}]+\}", "[^/]+", pattern) + "$"
            if re.match(regex, path) and method.lower() in item:
                documented = item[method.lower()]["responses"][str(status)]["content"]
                assert content_type in documented, (path, status, content_type)
                return
        raise AssertionError(f"{method} {path} is not documented")


def schema_at(spec: dict, pointer: str) -> Draft202012Validator:
    """A validator of the schema at `pointer` in the spec (`#/components/schemas/...`), its
    references resolved within the spec and its formats (date-time, uri) checked."""
    return Draft202012Validator({**spec, "$ref": pointer},
                                format_checker=Draft202012Validator.FORMAT_CHECKER)
