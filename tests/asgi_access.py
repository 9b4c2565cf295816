"""The demo's ASGI application with an access log in gunicorn's format of the multi-server test
(``<pid> "GET /path?query" status``): uvicorn's worker logs no pid. The log is written only when
``ACCESS_LOG_PATH`` is set."""

from __future__ import annotations

import os
from typing import Any

from project.asgi import application as demo_application

ACCESS_LOG_PATH = os.environ.get("ACCESS_LOG_PATH", "")


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http" or not ACCESS_LOG_PATH:
        await demo_application(scope, receive, send)
        return
    status = 0

    async def logged_send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        await send(message)

    await demo_application(scope, receive, logged_send)
    query = scope.get("query_string", b"").decode("latin-1")
    target = scope["path"] + (f"?{query}" if query else "")
    with open(ACCESS_LOG_PATH, "a", encoding="utf-8") as log:  # one short line: appended whole
        log.write(f'<{os.getpid()}> "{scope["method"]} {target}" {status}\n')
