"""Schema ids for the Confluent wire format: a plug point and its two implementations.

The codec asks a :class:`SchemaIdResolver` for the id of a schema it writes and
for the schema behind an id it reads. :class:`SchemaRegistryClient` talks to a
real Confluent Schema Registry over HTTP (subject = record full name, the
RecordNameStrategy); :class:`StaticSchemaIds` is an explicit in-process id table
for tests and for deployments that pin ids by configuration.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from trilink.errors import TrilinkError

log = logging.getLogger(__name__)

_CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
_SCHEMA_NOT_FOUND = 40403


class RegistryError(TrilinkError):
    """The schema registry could not be reached or refused a request."""


class SchemaIdResolver(Protocol):
    """Maps schemas to Confluent schema ids and back. Implementations cache."""

    def register(self, subject: str, schema_json: str) -> int:
        """Id of ``schema_json`` under ``subject``, registering it if new."""
        ...

    def schema(self, schema_id: int) -> str | None:
        """JSON text of the schema with this id, or None if no such id exists."""
        ...


def _normalise(schema_json: str) -> str:
    return json.dumps(json.loads(schema_json), sort_keys=True, separators=(",", ":"))


@dataclass
class StaticSchemaIds:
    """An explicit id <-> schema table (no network).

    ``register`` returns the id of an identical schema already in the table, or
    assigns the next free id.
    """

    schemas: dict[int, str] = field(default_factory=dict)
    _ids: dict[str, int] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self._ids = {_normalise(text): sid for sid, text in self.schemas.items()}

    def register(self, subject: str, schema_json: str) -> int:
        key = _normalise(schema_json)
        with self._lock:
            if key not in self._ids:
                sid = max(self.schemas, default=0) + 1
                self.schemas[sid] = schema_json
                self._ids[key] = sid
            return self._ids[key]

    def schema(self, schema_id: int) -> str | None:
        return self.schemas.get(schema_id)


class SchemaRegistryClient:
    """A Confluent Schema Registry client (REST API v1), caching ids both ways.

    Transport failures and refusals raise :class:`RegistryError`; an id the
    registry does not know yields None from :meth:`schema`.
    """

    def __init__(
        self, url: str, *, timeout: float = 5.0, client: httpx.Client | None = None
    ) -> None:
        self.url = url.rstrip("/")
        self._http = client or httpx.Client(timeout=timeout, headers={"Accept": _CONTENT_TYPE})
        self._owns_http = client is None
        self._ids: dict[tuple[str, str], int] = {}
        self._schemas: dict[int, str] = {}

    def register(self, subject: str, schema_json: str) -> int:
        key = (subject, schema_json)
        cached = self._ids.get(key)
        if cached is not None:
            return cached
        body = self._request(
            "POST",
            f"/subjects/{subject}/versions",
            json={"schema": schema_json},
            what=f"register schema under subject {subject!r}",
        )
        if body is None or not isinstance(body.get("id"), int):
            raise RegistryError(f"registry gave no id for subject {subject!r}")
        sid: int = body["id"]
        self._ids[key] = sid
        self._schemas.setdefault(sid, schema_json)
        log.info("schema registry: subject %s has id %d", subject, sid)
        return sid

    def schema(self, schema_id: int) -> str | None:
        cached = self._schemas.get(schema_id)
        if cached is not None:
            return cached
        body = self._request("GET", f"/schemas/ids/{schema_id}", what=f"fetch schema {schema_id}")
        if body is None:
            return None
        text = body.get("schema")
        if not isinstance(text, str):
            raise RegistryError(f"registry answer for schema id {schema_id} has no schema")
        self._schemas[schema_id] = text
        return text

    def close(self) -> None:
        """Close the HTTP connection pool (if this client created it)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> SchemaRegistryClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _request(
        self, method: str, path: str, *, what: str, json: Any = None
    ) -> Mapping[str, Any] | None:
        """One request; None for 'schema not found', RegistryError for anything else bad."""
        try:
            response = self._http.request(
                method,
                f"{self.url}{path}",
                json=json,
                headers={"Content-Type": _CONTENT_TYPE} if json is not None else None,
            )
        except httpx.HTTPError as exc:
            raise RegistryError(f"cannot {what} at {self.url}: {exc}") from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        error = body if isinstance(body, dict) else {}
        if response.status_code == 404 and error.get("error_code") == _SCHEMA_NOT_FOUND:
            return None
        if response.status_code >= 400:
            message = error.get("message") or response.reason_phrase
            raise RegistryError(
                f"cannot {what} at {self.url}: HTTP {response.status_code} {message}"
            )
        if not isinstance(body, dict):
            raise RegistryError(f"cannot {what} at {self.url}: answer is not a JSON object")
        return body
