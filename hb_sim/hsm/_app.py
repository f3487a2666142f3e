"""The mock HSM web app: a thin quart-trio layer over ``MockHsm``.

Each handler parses the request, calls the model and renders its answer; HSM's rules live in
the model. Two things happen here because they need I/O: the fault decision is carried out
(``trio.sleep`` for latency, so a ``MockClock`` governs it in virtual time) and every request
is recorded with its arrival time from the injected clock.

Routes under ``/hsm/v2`` are HSM's. Routes under ``/mock`` are a control API for test
harnesses and the simulator; real HSM has nothing like them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final

import trio
from quart import Response, g, request
from quart_trio import QuartTrio
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from hbtd_server.core import go_json, normalize

from ..errors import HsmProblem
from ._model import HSM_ROOT, MockHsm
from ._states import normalize_flag, normalize_state

__all__ = ["create_mock_hsm_app"]

_COMPONENTS: Final = HSM_ROOT + "/State/Components"
_JSON: Final = "application/json"


def _json_response(value: Any, status: int = 200) -> Response:
    # As HSM (Go's encoding/json) writes it.
    return Response(go_json(value), status=status, content_type=_JSON)


def _problem_response(problem: HsmProblem) -> Response:
    return Response(
        go_json(problem.to_json()),
        status=problem.status,
        content_type="application/problem+json",
    )


def _no_content() -> Response:
    # HSM's sendJsonError(w, 204, "") still sets Content-Type: application/json.
    return Response("", status=204, content_type=_JSON)


async def _body() -> bytes:
    return await request.get_data(cache=True, as_text=False, parse_form_data=False)


async def _control_object(shape: str) -> dict[str, Any]:
    """The body of a control request: a JSON object (empty when there is no body).

    Raises:
        HsmProblem: 400 when the body is not JSON or not an object (``shape`` says what is).
    """
    try:
        body = json.loads(await _body() or b"{}")
    except ValueError as exc:
        raise HsmProblem(400, f"body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise HsmProblem(400, f"body must be {shape}")
    return body


def _since_param() -> int:
    raw = request.args.get("since", "0")
    try:
        since = int(raw)
    except ValueError:
        raise HsmProblem(400, f"since must be an integer, not {raw!r}") from None
    return max(since, 0)


def create_mock_hsm_app(
    model: MockHsm, *, clock: Callable[[], float] = trio.current_time
) -> QuartTrio:
    """Build the mock HSM app around ``model``.

    Args:
        model: the state, rules, faults and request log to serve.
        clock: gives each request's arrival time for the request log and the ``now`` of state
            changes. The default, ``trio.current_time``, follows a ``MockClock``.

    Returns:
        A quart-trio app; serve it with hypercorn's trio worker or call it in process
        (Quart's test client, or ``httpx.ASGITransport``).
    """
    app = QuartTrio(__name__)
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False

    @app.before_request
    async def arrive() -> Response | None:
        g.arrival = clock()
        decision = model.decide_fault(request.path)
        if decision.delay > 0.0:
            await trio.sleep(decision.delay)
        if decision.problem is not None:
            return _problem_response(decision.problem)
        return None

    @app.after_request
    async def record(response: Response) -> Response:
        if not request.path.startswith("/mock/"):
            model.record(
                time=g.arrival,
                method=request.method,
                path=request.path,
                query={key: request.args.getlist(key) for key in request.args},
                body=await _body(),
                status=response.status_code,
            )
        return response

    @app.errorhandler(HsmProblem)
    async def hsm_problem(problem: HsmProblem) -> Response:
        return _problem_response(problem)

    @app.errorhandler(HTTPException)
    async def http_error(error: HTTPException) -> Response:
        if isinstance(error, MethodNotAllowed):
            methods = [m for m in error.valid_methods or () if m not in ("HEAD", "OPTIONS")]
            allow = ",".join(sorted(methods))
            response = _problem_response(HsmProblem(405, f"allow {allow}"))
            response.headers["allow"] = allow
            return response
        if error.code == 404:
            # gorilla/mux's default answer for a path no route matches.
            return Response("404 page not found\n", status=404, content_type="text/plain")
        return _problem_response(HsmProblem(error.code or 500, error.description or ""))

    # -- HSM -------------------------------------------------------------------------------

    @app.get(HSM_ROOT + "/service/ready")
    async def ready() -> Response:
        # HSM's response writer turns any 2xx code into 0.
        return _json_response({"code": 0, "message": "HSM is healthy"})

    @app.get(HSM_ROOT + "/service/liveness")
    async def liveness() -> Response:
        # HSM only writes the 204 status: no body, no Content-Type.
        response = Response("", status=204)
        del response.headers["Content-Type"]
        return response

    @app.get(_COMPONENTS)
    async def components_get() -> Response:
        params = {key: request.args.getlist(key) for key in request.args}
        return _json_response({"Components": model.query(params)})

    @app.post(_COMPONENTS)
    async def components_post() -> Response:
        model.post_components(await _body(), now=g.arrival)
        return _no_content()

    @app.patch(_COMPONENTS + "/BulkStateData")
    async def bulk_state_data() -> Response:
        model.patch_bulk_state_data(await _body(), now=g.arrival)
        return _no_content()

    @app.get(_COMPONENTS + "/<xname>")
    async def component_get(xname: str) -> Response:
        return _json_response(model.component(xname).to_json())

    @app.patch(_COMPONENTS + "/<xname>/StateData")
    async def state_data(xname: str) -> Response:
        model.patch_state_data(xname, await _body(), now=g.arrival)
        return _no_content()

    # -- control API (not HSM) -------------------------------------------------------------

    @app.get("/mock/requests")
    async def mock_requests() -> Response:
        return _json_response([entry.to_json() for entry in model.requests(_since_param())])

    @app.get("/mock/changes")
    async def mock_changes() -> Response:
        return _json_response([entry.to_json() for entry in model.changes(_since_param())])

    @app.get("/mock/state")
    async def mock_state() -> Response:
        return _json_response({"Components": [c.to_json() for c in model.components.values()]})

    @app.get("/mock/faults")
    async def mock_faults_get() -> Response:
        return _json_response(model.faults.to_json())

    @app.post("/mock/faults")
    async def mock_faults_post() -> Response:
        changes = await _control_object("a JSON object")
        return _json_response(model.update_faults(changes).to_json())

    @app.post("/mock/power")
    async def mock_power() -> Response:
        shape = '{"ids": [xname, ...], "on": true|false}'
        order = await _control_object(shape)
        ids, on = order.get("ids"), order.get("on")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise HsmProblem(400, f"body must be {shape}")
        if not isinstance(on, bool):
            raise HsmProblem(400, f"body must be {shape}")
        model.set_power([normalize(i) for i in ids], on=on)
        return Response("", status=204)

    @app.post("/mock/write")
    async def mock_write() -> Response:
        # Another writer (an operator, a Redfish power event): HSM's rules, not recorded.
        shape = '{"ids": [xname, ...], "state": S, "flag": F, "force": bool}'
        order = await _control_object(shape)
        ids, state = order.get("ids"), order.get("state")
        flag, force = order.get("flag", ""), order.get("force", False)
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise HsmProblem(400, f"body must be {shape}")
        if not isinstance(state, str) or not isinstance(flag, str) or not isinstance(force, bool):
            raise HsmProblem(400, f"body must be {shape}")
        model.set_state(ids, state, flag, force=force, now=clock())
        return Response("", status=204)

    @app.post("/mock/restore")
    async def mock_restore() -> Response:
        shape = '{"components": {xname: [State, Flag], ...}}'
        components = (await _control_object(shape)).get("components")
        if not isinstance(components, dict):
            raise HsmProblem(400, f"body must be {shape}")
        states: dict[str, tuple[str, str]] = {}
        for xname, value in components.items():
            ok = isinstance(value, list) and len(value) == 2
            state = normalize_state(value[0]) if ok and isinstance(value[0], str) else None
            flag = normalize_flag(value[1]) if ok and isinstance(value[1], str) else None
            if state is None or flag is None:
                raise HsmProblem(400, f"body must be {shape}, with HMS states and flags")
            states[normalize(xname)] = (state, flag)
        model.restore(states, now=clock())
        return Response("", status=204)

    @app.post("/mock/reset")
    async def mock_reset() -> Response:
        model.reset()
        return Response("", status=204)

    return app
