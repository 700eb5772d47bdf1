"""The sync client's HTTP transport, and the errors a reply turns into (retry, give up, sign in again)."""

from __future__ import annotations

import contextlib
import gzip
import http.client
import json
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

# Statuses that say "not now" rather than "never": retried with backoff like a 5xx.
_RETRYABLE_4XX = frozenset({408, 425, 429})

# --- transport -------------------------------------------------------------------------------------------


class TransportError(Exception):
    """The request or its reply was lost: connection refused or broken, or a timeout."""


class Headers(Mapping[str, str]):
    """Response headers with case-insensitive lookups; a repeated header keeps every value (``get_all``)."""

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        self._values: dict[str, list[str]] = {}
        self._names: dict[str, str] = {}
        for name, value in pairs:
            key = name.lower()
            self._values.setdefault(key, []).append(value)
            self._names.setdefault(key, name)

    def __getitem__(self, name: str) -> str:
        return self._values[name.lower()][0]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names.values())

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._values

    def get_all(self, name: str) -> list[str]:
        """Every value of a header that may repeat (Set-Cookie)."""
        return list(self._values.get(name.lower(), []))


@dataclass(frozen=True)
class Response:
    """What a transport brings back: status, headers (case-insensitive) and the raw body."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.headers, Headers):
            object.__setattr__(self, "headers", Headers(self.headers))

    def header_values(self, name: str) -> list[str]:
        """Every value of a repeatable header."""
        assert isinstance(self.headers, Headers)
        return self.headers.get_all(name)

    def json(self) -> Any:
        """The body parsed as JSON (ValueError when it is not)."""
        return json.loads(self.body.decode("utf-8"))


class Transport(Protocol):
    """Sends one HTTP request to the server; raises TransportError when the exchange is lost."""

    def request(self, method: str, path: str, *, headers: dict[str, str], body: bytes | None) -> Response:
        """Send ``method path`` (path includes any query string) and return the reply, whatever its status."""
        ...


class UrllibTransport:
    """A Transport over http.client with one kept-alive connection (reopened when it breaks)."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"base URL must be http(s)://host[:port][/prefix], got {base_url!r}")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self._connection: http.client.HTTPConnection | None = None
        #: Bytes of reply bodies as they came over the network (compressed or not).
        self.wire_bytes = 0

    def _connect(self) -> http.client.HTTPConnection:
        if self._connection is None:
            kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._connection = kind(self._host, self._port, timeout=self.timeout)
        return self._connection

    def close(self) -> None:
        """Close the kept-alive connection, if any."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> UrllibTransport:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, *, headers: dict[str, str], body: bytes | None) -> Response:
        """Send the request; a lost exchange raises TransportError."""
        for attempt in range(2):
            reused = self._connection is not None
            connection = self._connect()
            try:
                # Pull pages are JSON that gzip shrinks to about a fifth: ask for it, and undo it here.
                sent = {"Accept-Encoding": "gzip", **headers}
                connection.request(method, self._prefix + path, body=body, headers=sent)
                raw = connection.getresponse()
                data = raw.read()
                self.wire_bytes += len(data)
                if (raw.getheader("Content-Encoding") or "").strip().lower() == "gzip":
                    data = gzip.decompress(data)
                reply = Response(raw.status, Headers(raw.getheaders()), data)
                if raw.will_close:
                    self.close()
                return reply
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as error:
                self.close()
                # A kept-alive connection the server closed while idle: one immediate retry on a fresh one
                # (every request of the protocol is safe to repeat).
                if reused and attempt == 0:
                    continue
                raise TransportError(f"{method} {path}: {error!r}") from error
            except (OSError, http.client.HTTPException) as error:
                self.close()
                raise TransportError(f"{method} {path}: {error!r}") from error
        raise AssertionError("unreachable")


# --- errors ----------------------------------------------------------------------------------------------


class SyncError(Exception):
    """The server refused a request for good (a 4xx problem), or the client gave up retrying."""

    def __init__(
        self, code: str, message: str, *, status: int | None = None, details: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.details: dict[str, Any] = dict(details or {})


class AuthError(SyncError):
    """401: the device token is missing, unknown or revoked, or the credentials are wrong; sign in again."""


class RetriesExhausted(SyncError):
    """Every attempt failed with a transient error (5xx, lost connection, invalid reply)."""


class _Retry(Exception):
    """A transient failure: a 5xx, a 408/425/429, or a reply that does not validate."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


def _problem_of(response: Response) -> tuple[str, str, dict[str, Any]]:
    """Code, message and details of an error reply (a problem body, or the bare status)."""
    with contextlib.suppress(ValueError, UnicodeDecodeError):
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("code"), str):
            details = body.get("details")
            return body["code"], str(body.get("message") or ""), details if isinstance(details, dict) else {}
    return str(response.status), response.body[:200].decode("utf-8", "replace"), {}


def _retry_after(response: Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: rare enough to fall back to our own backoff


def _check_status(response: Response) -> None:
    """Return on 2xx; raise AuthError (401), _Retry (5xx, 408, 425, 429) or SyncError (other 4xx)."""
    if 200 <= response.status < 300:
        return
    code, message, details = _problem_of(response)
    if response.status == 401:
        raise AuthError(code, message, status=401, details=details)
    if response.status >= 500 or response.status in _RETRYABLE_4XX:
        raise _Retry(f"HTTP {response.status} {code}: {message}", _retry_after(response))
    raise SyncError(code, message, status=response.status, details=details)
