"""What a browser loads from the gateway: the realtime client module, and in dev a demo page."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tether.errors import NotFoundError
from tether.runtime import public_tokens, streams

router = APIRouter(tags=["browser"])
STATIC = Path(__file__).parent.parent / "static"
DEMO_TOKEN_LIFETIME = "12h"


@router.get("/realtime/client.js", summary="The browser client (an ES module)", include_in_schema=True)
def client_module() -> Response:
    return Response((STATIC / "client.js").read_text(), media_type="text/javascript", headers={"cache-control": "no-cache"})


@router.get("/realtime/demo", summary="Dev only: a page that triggers a task and shows its stream live", response_class=HTMLResponse)
def demo_page(request: Request, task: str = "research-agent") -> HTMLResponse:
    env = request.app.state.demo_env
    if env is None:
        raise NotFoundError("the demo page is served by `tether dev` only")
    streams.check_key(task)  # task ids follow the same shape: nothing to escape into the page
    token = public_tokens.create(env, [f"write:tasks:{task}"], DEMO_TOKEN_LIFETIME)
    page = (STATIC / "demo.html").read_text().replace('"__TASK__"', json.dumps(task)).replace('"__TRIGGER_TOKEN__"', json.dumps(token))
    return HTMLResponse(page)
