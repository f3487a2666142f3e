"""Talking to the tracker over HTTP: with :mod:`hb_agent._bounded`, the only module that sees httpx.

It is handed its ``httpx.AsyncClient`` (tests give it an ``httpx.MockTransport``), bounds each
request with ``trio.fail_after`` and maps every httpx exception to the agent's own
(:mod:`hb_agent._errors`), in this one place.
"""

from __future__ import annotations

import json
import ssl
from pathlib import Path

import httpx
import trio

from ._bounded import AnswerRefused, BoundedAnswer, fetch_bounded
from ._errors import ConfigError, TrackerBusy, TrackerRejected, TrackerUnreachable
from ._identity import Identity
from ._wire import TrackerParams, heartbeat_request, parse_params

__all__ = ["Sender", "make_client"]

#: The most bytes an answer's body may have. The tracker answers a heartbeat with an empty
#: body, ``/params`` with about 100 bytes and an error with a problem document of a few hundred;
#: a proxy's error page is a few KiB. More is not an answer from a tracker: read no further.
ANSWER_LIMIT = 16 * 1024

#: Codes that mean "the tracker is there but cannot serve now": back off and retry.
_BUSY_CODES = frozenset({408, 425, 429})


def make_client(*, url: str, ca_cert: Path | None = None) -> httpx.AsyncClient:
    """Build the agent's HTTP client.

    TLS trusts the system's certificate store (where Cray EX nodes keep the platform CA), or
    only ``ca_cert`` when given; certifi's public bundle is deliberately not used, as it would
    not know the site's CA. For a plain ``http://`` tracker a bare context is used, which
    loads no certificates at all (memory matters on every node) yet would refuse any TLS peer.
    Proxy variables are ignored: the tracker is on the management network.

    Args:
        url: the tracker base URL (only its scheme matters here).
        ca_cert: a PEM bundle of trusted CAs.

    Returns:
        A client without its own timeouts (callers use ``trio.fail_after``), that keeps one
        connection alive between heartbeats.

    Raises:
        ConfigError: when ``ca_cert`` cannot be loaded.
    """
    context: ssl.SSLContext
    if url.startswith("https://") or ca_cert is not None:
        try:
            context = ssl.create_default_context(cafile=ca_cert)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"cannot load CA certificates from {ca_cert}: {exc}") from exc
    else:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    return httpx.AsyncClient(
        verify=context,
        timeout=None,
        trust_env=False,
        limits=httpx.Limits(max_connections=2, max_keepalive_connections=1),
        headers={"User-Agent": "hb-agent"},
    )


def _detail(response: BoundedAnswer) -> str:
    """A short explanation from an error response (RFC 7807 ``detail`` or ``title``)."""
    try:
        data = json.loads(response.content[:4096])
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in ("detail", "title"):
            if isinstance(data.get(key), str) and data[key]:
                return str(data[key])[:200]
    text = response.content[:200].decode("utf-8", errors="replace").strip()
    return text or response.reason_phrase


class Sender:
    """Sends heartbeats and reads ``/params`` for one identity.

    Args:
        client: the HTTP client (closed by its owner, not here).
        identity: who is sending; its ``url`` must be set.
        timeout: seconds allowed for each request, connection included.
        full_form: post to ``/heartbeat`` with Component, Hostname and NID.
        token_file: a file holding a bearer token, read before every request so a rotated
            token is picked up (the API gateway may require one).

    Raises:
        ValueError: when the identity has no URL.
    """

    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        identity: Identity,
        timeout: float = 3.0,
        full_form: bool = False,
        token_file: Path | None = None,
    ) -> None:
        if identity.url is None:
            raise ValueError("the sender needs an identity with a tracker URL")
        self._client = client
        self._identity = identity
        self._base = identity.url
        self._timeout = timeout
        self._full_form = full_form
        self._token_file = token_file

    @property
    def identity(self) -> Identity:
        """Who this sender speaks for."""
        return self._identity

    def _headers(self) -> dict[str, str]:
        if self._token_file is None:
            return {}
        try:
            token = self._token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            # Sending without the token would only earn a 401; say what is really wrong.
            raise TrackerRejected(
                f"cannot read the token file {self._token_file}: {exc.strerror or exc}",
                cause=f"token file {self._token_file}",
                status_code=0,
            ) from exc
        return {"Authorization": f"Bearer {token}"} if token else {}

    async def _request(self, method: str, url: str, body: object = None) -> BoundedAnswer:
        """Make one request; map every failure to a :class:`SendError`.

        The whole exchange (connecting, headers, every read of the body) is under the one
        timeout, and the body is read to :data:`ANSWER_LIMIT` at most.
        """
        headers = self._headers()
        try:
            with trio.fail_after(self._timeout):
                response = await fetch_bounded(
                    self._client, method, url, limit=ANSWER_LIMIT, json=body, headers=headers
                )
        except AnswerRefused as exc:
            # A peer that is not the tracker (a wrong URL, a file server, a proxy) or a broken
            # one: retry with backoff like a busy tracker; the connection is already closed.
            raise TrackerBusy(str(exc), cause=f"answer over {exc.limit} bytes") from None
        except trio.TooSlowError:
            raise TrackerUnreachable(
                f"{method} {url}: no answer within {self._timeout:g}s", cause="timeout"
            ) from None
        except httpx.RequestError as exc:
            # Not chained: the traceback of a refused connection is noise in the journal.
            raise TrackerUnreachable(
                f"{method} {url}: {type(exc).__name__}: {exc or 'no details'}",
                cause=type(exc).__name__,
            ) from None
        code = response.status_code
        if 200 <= code < 300:
            return response
        detail = _detail(response)
        message = f"{method} {url}: HTTP {code}: {detail}"
        if code >= 500 or code in _BUSY_CODES:
            raise TrackerBusy(message, cause=f"HTTP {code}")
        raise TrackerRejected(message, cause=f"HTTP {code}: {detail}", status_code=code)

    async def send(self, *, status: str, timestamp: str) -> None:
        """Send one heartbeat.

        Args:
            status: the ``Status`` text.
            timestamp: the ``TimeStamp`` text (see :func:`hb_agent.format_timestamp`).

        Raises:
            SendError: when the tracker did not answer with a 2xx.
        """
        identity = self._identity
        request = heartbeat_request(
            base=self._base,
            xname=identity.xname,
            status=status,
            timestamp=timestamp,
            full_form=self._full_form,
            hostname=identity.hostname,
            nid=identity.nid,
        )
        await self._request("POST", request.url, request.body)

    async def fetch_params(self) -> TrackerParams:
        """Read the tracker's operating parameters.

        Returns:
            Warntime, Errtime and Interval, each None when absent or unreadable.

        Raises:
            SendError: when the tracker did not answer with a 2xx.
        """
        response = await self._request("GET", f"{self._base}/params")
        try:
            data = json.loads(response.content)
        except ValueError:
            data = None
        return parse_params(data)
