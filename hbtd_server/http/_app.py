"""The HBTD v1 HTTP API as a quart-trio app (the heartbeats are answered inline before it).

Handlers are thin: decode, ask the engine, render. Every error is an RFC 7807 problem; a wrong
method gets 405 with ``Allow``; a client's mistake is never a 500.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar, cast
from urllib.parse import urlsplit, urlunsplit

import orjson
import trio
from quart import Quart, Response, request
from quart_trio import QuartTrio
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge

from ..core import (
    HbtdError,
    InvalidRequest,
    PayloadTooLarge,
    decode_json_body,
    go_json,
    redact_text,
    verify_normalize,
)
from ..engine import Engine
from ..notify import PARAM_CHECKS, TelemetryPublisher, msgbus_health
from ..ops import METRICS_CONTENT_TYPE, Metrics
from ._auth import PROMETHEUS_PATH, AdminAuth, auth_hook
from ._heartbeat import answer_heartbeat
from ._openapi import openapi_json
from ._problem import PROBLEM_CONTENT_TYPE, problem_body

__all__ = [
    "MAX_HBSTATES_NAMES",
    "MAX_PARAMS_BODY",
    "MAX_REQUEST_BODY",
    "create_quart_app",
]

log = logging.getLogger("hbtd.api")

_Handler = TypeVar("_Handler", bound=Callable[..., Awaitable[Response]])

API_ROOT = "/hmi/v1"
#: Largest body any endpoint reads: a /hbstates query for a whole large machine.
MAX_REQUEST_BODY = 4 * 1024 * 1024
#: Most names one /hbstates query may ask about (HSM asks for every On node at once).
MAX_HBSTATES_NAMES = 50_000
MAX_PARAMS_BODY = 64 * 1024
_MAX_QUERIED_NAME = 256
#: Names looked up between two checkpoints of /hbstates: about 1 ms of work on a slow core.
_HBSTATES_CHUNK = 250
#: A /hbstates body from this size on waits for its turn behind other big ones.
_BIG_HBSTATES_QUERY = 64 * 1024
#: Upstream's in-handler 405 details (docs/api.md), keyed by sorted Allow.
_WRONG_METHOD_DETAILS = {
    ("POST",): "Only POST operations supported",
    ("GET", "PATCH"): "Only PATCH and GET operations supported",
    ("GET",): "Only GET operation supported",
}


def create_quart_app(
    engine: Engine,
    *,
    metrics: Metrics | None = None,
    admin: AdminAuth | None = None,
    telemetry: TelemetryPublisher | None = None,
) -> Quart:
    """Build the Quart app serving the HBTD v1 API over ``engine``.

    Args:
        engine: the tracker to serve.
        metrics: served at ``/metrics`` when given.
        admin: the admin token; None leaves every endpoint open.
        telemetry: the telemetry publisher whose health ``/health`` shows (None: not running).
    """
    app = QuartTrio("hbtd_server")
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BODY

    def route(path: str, methods: list[str]) -> Callable[[_Handler], _Handler]:
        decorator = app.route(API_ROOT + path, methods=methods, provide_automatic_options=False)
        return cast(Callable[[_Handler], _Handler], decorator)

    @route("/heartbeat", ["POST"])
    async def heartbeat_full() -> Response:
        return await _heartbeat(engine, None)

    @route("/heartbeat/<xname>", ["POST"])
    async def heartbeat_xname(xname: str) -> Response:
        return await _heartbeat(engine, xname)

    # Big queries take turns: decoding one is a single piece of work of some 20 ms that cannot
    # yield, and four of them in one scheduling round would hold /liveness for 80 ms.
    big_query_turn = trio.Lock()

    @route("/hbstates", ["POST"])
    async def hbstates() -> Response:
        body = await _body()
        if len(body) < _BIG_HBSTATES_QUERY:
            return Response(await _hbstates(engine, body), content_type="application/json")
        async with big_query_turn:
            return Response(await _hbstates(engine, body), content_type="application/json")

    @route("/hbstate/<xname>", ["GET"])
    async def hbstate(xname: str) -> Response:
        name = verify_normalize(xname)
        if name is None:
            raise InvalidRequest("Invalid Component Name")
        return _json({"XName": name, "Heartbeating": engine.is_heartbeating(name)})

    @route("/params", ["GET", "PATCH"])
    async def params() -> Response:
        if request.method == "PATCH":
            body = decode_json_body(await _body(), limit=MAX_PARAMS_BODY)
            engine.set_params(engine.params.patched(body, checks=PARAM_CHECKS))
        return _json(engine.params.to_public_json())  # URL passwords as ***

    @route("/health", ["GET"])
    async def health() -> Response:
        bus = msgbus_health(telemetry)
        return _json(
            {
                "KvStore": redact_text(engine.store_health.kv_status),
                "MsgBus": bus.status,
                "HsmStatus": engine.books.health.status(engine.params),
                # Extensions: upstream's three members keep upstream's exact strings.
                "HsmDetail": redact_text(engine.books.health.detail(engine.params)),
                "HsmPending": engine.books.pending_count,
                **_describe_refusals(engine),  # HsmRefused, HsmRefusedSince
                "SilenceGuard": _describe_guard(engine),
                "HsmReconcile": _describe_reconcile(engine),
                "KvUnflushed": engine.store_health.unflushed,  # the store's extensions
                "KvRole": engine.store_health.role,
                **bus.extensions(),  # MsgBusDetail, MsgBusQueued, MsgBusDropped, ...
                "TaskFailures": engine.tasks.describe(),  # restarted background tasks
            }
        )

    @route("/liveness", ["GET"])
    async def liveness() -> Response:
        return _empty(204)

    @route("/readiness", ["GET"])
    async def readiness() -> Response:
        return _empty(204 if engine.store_health.ready else 503)

    # Extensions: the contract itself, Prometheus metrics, the admin token.
    openapi_document = openapi_json()  # loaded once, at startup

    @route("/openapi.json", ["GET"])
    async def openapi() -> Response:
        return Response(openapi_document, content_type="application/json")

    if metrics is not None:

        @route("/metrics", ["GET"])
        async def metrics_text() -> Response:
            return Response(metrics.render(), content_type=METRICS_CONTENT_TYPE)

        # Prometheus scrapes /metrics unless told otherwise.
        app.add_url_rule(
            PROMETHEUS_PATH,
            "prometheus_metrics",
            metrics_text,
            methods=["GET"],
            provide_automatic_options=False,
        )

    if admin is not None:
        app.before_request(auth_hook(admin))

    @app.after_request
    async def relative_redirect(response: Response) -> Response:
        # Routing redirects (``/hmi//v1/params`` -> ``/hmi/v1/params``, 308) are built from the
        # client's Host header; a relative Location says the same without echoing it.
        location = response.headers.get("Location")
        if location is None or not 300 <= response.status_code < 400:
            return response
        parts = urlsplit(location)
        if not (parts.scheme or parts.netloc):
            return response
        relative = urlunsplit(("", "", parts.path or "/", parts.query, ""))
        redirect = _empty(response.status_code)
        redirect.headers["Location"] = relative
        return redirect

    @app.errorhandler(HbtdError)
    async def hbtd_error(error: HbtdError) -> Response:
        return _problem(error.status_hint, error.detail, error.title)

    @app.errorhandler(HTTPException)
    async def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        if status in (404, 405):
            # Read the unread body first: answering before it is consumed can stall the next
            # request on the same keep-alive connection. (A 413 body is not worth reading.)
            with contextlib.suppress(HTTPException):
                await request.get_data()
        detail = error.description
        title = None
        headers = {}
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            allowed = sorted(m for m in error.valid_methods if m != "HEAD")
            headers["Allow"] = ", ".join(allowed)
            detail = _WRONG_METHOD_DETAILS.get(
                tuple(allowed), f"Only {' and '.join(allowed)} operations supported"
            )
        elif status == 404:
            detail = f"No such endpoint: {request.path}"
        elif status == 413:
            detail = f"Request body is larger than {MAX_REQUEST_BODY} bytes"
            title = PayloadTooLarge.title  # the same title on every endpoint
        response = _problem(status, detail, title)
        response.headers.update(headers)
        return response

    @app.errorhandler(Exception)
    async def unexpected(error: Exception) -> Response:
        log.exception("bug: unexpected error answering %s %s", request.method, request.path)
        return _problem(500, "Unexpected error; see the tracker's log")

    return app


async def _body() -> bytes:
    return cast(bytes, await request.get_data(as_text=False))


async def _heartbeat(engine: Engine, path_xname: str | None) -> Response:
    # The app alone answers a heartbeat as the lean server's inline route does.
    body: bytes | None
    try:
        body = await _body()
    except RequestEntityTooLarge:  # over Quart's limit: refused as too large for a heartbeat
        body = None
    status, document = answer_heartbeat(engine, path_xname, body)
    if not document:
        return _empty(status)
    return Response(document, status=status, content_type=PROBLEM_CONTENT_TYPE)


def _describe_reconcile(engine: Engine) -> dict[str, object]:
    # Reading HSM back: the interval, what it corrected since start, and its last round.
    health = engine.books.reconcile_health
    return {
        "Interval": engine.params.reconcile_interval,
        "Rounds": health.rounds,
        "Failed": health.failed,
        "Corrections": sum(health.corrections.values()),
        "Skipped": engine.books.skipped_total,
        "Last": {
            key: redact_text(v) if isinstance(v, str) else v for key, v in health.last.items()
        },
    }


def _describe_refusals(engine: Engine) -> dict[str, object]:
    count, age = engine.books.refusal()
    since = ""
    if age is not None:
        since = datetime.fromtimestamp(time.time() - age, UTC).isoformat(timespec="seconds")
    return {"HsmRefused": count, "HsmRefusedSince": since.replace("+00:00", "Z")}


def _describe_guard(engine: Engine) -> str:
    status = engine.guard.status()
    if not engine.guard.settings.enabled:
        return "disabled"
    if status.engaged_since is None:
        return "watching"
    since = engine.clock() - status.engaged_since
    state = "recovering" if status.recovering_since is not None else "engaged"
    return f"{state}: holding {status.held} alerts for {since:.0f} s (no heartbeat from anyone)"


def _queried_names(document: object) -> list[str]:
    if document is None:
        return []
    if not isinstance(document, dict):
        raise InvalidRequest("Error unmarshalling inbound request")
    names = next((v for k, v in document.items() if k.lower() == "xnames"), None)
    if names is None:
        return []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InvalidRequest("Error unmarshalling inbound request")
    if len(names) > MAX_HBSTATES_NAMES:
        raise InvalidRequest(f"Too many XNames: {len(names)} (at most {MAX_HBSTATES_NAMES})")
    if any(len(n) > _MAX_QUERIED_NAME for n in names):
        raise InvalidRequest(f"XNames longer than {_MAX_QUERIED_NAME} characters are not xnames")
    return names


async def _hbstates(engine: Engine, body: bytes) -> str:
    try:
        document = decode_json_body(body, limit=MAX_REQUEST_BODY, fast_loads=orjson.loads)
    except InvalidRequest:
        raise InvalidRequest("Error unmarshalling inbound request") from None
    return await _hbstates_json(engine, _queried_names(document))


async def _hbstates_json(engine: Engine, names: list[str]) -> str:
    """The /hbstates answer, built in chunks with a checkpoint between them.

    50,000 names take a few hundred milliseconds; in one piece they would hold the event loop,
    and /liveness with it, for all of that, times the queries in flight.
    """
    parts = []
    for start in range(0, len(names), _HBSTATES_CHUNK):
        if start:
            await trio.lowlevel.checkpoint()
        states = [
            {"XName": name, "Heartbeating": _heartbeating(engine, name)}
            for name in names[start : start + _HBSTATES_CHUNK]
        ]
        parts.append(go_json(states).decode()[1:-1])
    return '{"HBStates":[' + ",".join(parts) + "]}"


def _heartbeating(engine: Engine, name: str) -> bool:
    normal = verify_normalize(name)
    return normal is not None and engine.is_heartbeating(normal)


def _json(document: object, status: int = 200) -> Response:
    return Response(
        go_json(document),
        status=status,
        content_type="application/json",
    )


def _empty(status: int) -> Response:
    response = Response(b"", status=status)
    # Upstream answers heartbeats with no Content-Type at all.
    del response.headers["Content-Type"]
    return response


def _problem(
    status: int, detail: str | None, title: str | None = None, instance: str | None = None
) -> Response:
    return Response(
        problem_body(status, detail, instance or request.path, title),
        status=status,
        content_type=PROBLEM_CONTENT_TYPE,
    )
