"""POSTing one record to a webhook, signed the Standard Webhooks 1.0 way.

Why Standard Webhooks: receivers already have libraries that check it
(``standardwebhooks`` on PyPI, Svix, ...). Each request carries:

* ``webhook-id``: the record's ``event_id``, the same on every retry, so
  the receiver can drop a copy it already handled;
* ``webhook-timestamp``: integer Unix seconds of this attempt;
* ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``,
  only when a secret is configured. The secret is a base64 key, usually
  written ``whsec_<base64>``; it comes from a file or an environment
  variable, never from the command line (``ps`` shows it to every user).

The body is the record's JSON as ``cacofonisk replay --format jsonl``
prints it.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import attrs

from ..errors import ConfigurationError

log = logging.getLogger(__name__)

#: environment variable holding the signing secret
ENV_SECRET = "CACOFONISK_WEBHOOK_SECRET"
_PREFIX = "whsec_"


def check_url(url: str) -> str:
    """The webhook URL, checked: http(s), a host, a valid port.

    Raises:
        ConfigurationError: anything else.
    """
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ConfigurationError(f"webhook URL {url!r} has a bad port") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"webhook URL {url!r} must be http(s)://HOST[:PORT]/PATH")
    return url


def parse_secret(text: str, where: str) -> bytes:
    """The signing key from ``whsec_<base64>`` (or plain base64).

    Raises:
        ConfigurationError: empty or not base64.
    """
    value = text.strip().removeprefix(_PREFIX)
    if not value:
        raise ConfigurationError(f"webhook secret from {where} is empty")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError(
            f"webhook secret from {where} is not base64 (expected whsec_<base64>, "
            "as Standard Webhooks libraries make them)") from None


def load_secret(path: str | None, environ: Mapping[str, str] | None = None) -> bytes | None:
    """The secret from ``--webhook-secret-file`` or ``$CACOFONISK_WEBHOOK_SECRET``, or None."""
    environ = os.environ if environ is None else environ
    if path:
        try:
            text = Path(path).expanduser().read_text(encoding="utf-8")
        except OSError as err:
            raise ConfigurationError(f"cannot read webhook secret file {path}: "
                                     f"{err.strerror or err}") from None
        return parse_secret(text.splitlines()[0] if text.strip() else "", path)
    if environ.get(ENV_SECRET):
        return parse_secret(environ[ENV_SECRET], f"${ENV_SECRET}")
    return None


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value for one request."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers_for(msg_id: str, body: bytes, key: bytes | None,
                timestamp: int | None = None) -> dict[str, str]:
    """The Standard Webhooks headers (signature only with a key)."""
    stamp = int(time.time()) if timestamp is None else timestamp
    headers = {"content-type": "application/json", "user-agent": "cacofonisk-deliver",
               "webhook-id": msg_id, "webhook-timestamp": str(stamp)}
    if key is not None:
        headers["webhook-signature"] = sign(key, msg_id, stamp, body)
    return headers


@attrs.frozen
class Outcome:
    """What one POST gave: the status, or the error that prevented one."""

    status: int | None
    error: str = ""

    @property
    def ok(self) -> bool:
        """2xx: the receiver has it."""
        return self.status is not None and 200 <= self.status < 300

    def __str__(self) -> str:
        return f"HTTP {self.status}" if self.status is not None else self.error


class WebhookPoster:
    """One aiohttp session POSTing records to one URL.

    Args:
        url: the webhook (checked by ``check_url``).
        key: the signing key, or None for unsigned requests.
        timeout: seconds for one whole request; a receiver slower than that
            counts as a failure and is retried.
    """

    def __init__(self, url: str, key: bytes | None, timeout: float = 10.0) -> None:
        self.url = check_url(url)
        self.key = key
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def post(self, msg_id: str, body: bytes) -> Outcome:
        """POST once; never raises for network trouble (it is an Outcome)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout))
        try:
            async with self._session.post(self.url, data=body,
                                          headers=headers_for(msg_id, body, self.key)) as resp:
                await resp.read()
                return Outcome(resp.status)
        except (aiohttp.ClientError, TimeoutError, OSError) as err:
            return Outcome(None, f"{type(err).__name__}: {err}".rstrip(": "))

    async def close(self) -> None:
        """Close the connection pool."""
        if self._session is not None:
            await self._session.close()
