"""``python -m hbtd_server._probe``: is the tracker on this machine alive? The image's HEALTHCHECK.

It asks ``/hmi/v1/liveness`` where the ``HBTD_*`` variables say hbtd listens: ``HBTD_PORT``
(28500), ``HBTD_HOST`` (a wildcard address means loopback), over HTTPS when ``HBTD_CERTFILE``
is set. Over HTTPS it trusts that certificate (its chain's first entry is enough) and not
the host name, which is the service's name and not loopback's. Exit status 0 when liveness
answers 2xx, else 1 with one line on stderr. Standard library only: it starts in milliseconds
and does not depend on the web stack it checks.
"""

from __future__ import annotations

import http.client
import os
import ssl
import sys
from collections.abc import Mapping

__all__ = ["main", "probe"]

_WILDCARDS = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}
_PATH = "/hmi/v1/liveness"


def probe(environ: Mapping[str, str], *, timeout: float = 3.0) -> str | None:
    """Ask the tracker described by ``environ`` whether it is alive.

    Args:
        environ: the ``HBTD_*`` variables (normally ``os.environ``).
        timeout: seconds to connect and to wait for the answer.

    Returns:
        None when it is alive, else why not (one line).
    """
    host = environ.get("HBTD_HOST", "").strip()
    host = _WILDCARDS.get(host, host)
    port = int(environ.get("HBTD_PORT", "").strip() or 28500)
    certfile = environ.get("HBTD_CERTFILE", "").strip()
    connection: http.client.HTTPConnection
    if certfile:
        context = ssl.create_default_context(cafile=certfile)
        context.check_hostname = False
        context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
        connection = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
    scheme = "https" if certfile else "http"
    where = (
        f"{scheme}://{host}:{port}{_PATH}"
        if ":" not in host
        else f"{scheme}://[{host}]:{port}{_PATH}"
    )
    try:
        connection.request("GET", _PATH)
        status = connection.getresponse().status
    except (OSError, http.client.HTTPException) as error:
        return f"{where}: {error or type(error).__name__}"
    finally:
        connection.close()
    return None if 200 <= status < 300 else f"{where}: HTTP {status}"


def main() -> None:
    """Probe, print why on failure, exit 0 (alive) or 1."""
    try:
        failure = probe(os.environ)
    except (ValueError, OSError) as error:  # a bad HBTD_PORT, an unreadable certificate
        failure = f"cannot probe: {error}"
    if failure is not None:
        print(f"hbtd probe: {failure}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
