"""The gateway: a FastAPI app over the engine. `create_app(engine)` is all a server needs."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from tether.runtime.engine import Engine
from tether.runtime.environments import Env, KeyRing

from tether.api import errors
from tether.api.hub import Hub
from tether.api.routes import auth, browser, cluster, queues, realtime, runs, schedules, tasks, waitpoints


def create_app(engine: Engine, *, demo_env: Env | None = None) -> FastAPI:
    """The gateway over `engine`; with `demo_env` (dev), /realtime/demo triggers tasks in it."""
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.hub.start()  # reading from the start: a first subscriber meets no backlog
        yield
        await app.state.hub.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="Tether",
        version="0.1.0",
        description="Durable background tasks for Python, on Ray. Routes and JSON follow Trigger.dev's REST API.",
    )
    app.state.engine = engine
    app.state.keys = KeyRing(engine.store)
    app.state.hub = Hub(engine.store)
    app.state.demo_env = demo_env
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
        allow_headers=["*"],
        expose_headers=["x-trigger-jwt"],
    )
    errors.install(app)
    for module in (tasks, runs, queues, schedules, cluster, realtime, waitpoints, auth, browser):
        app.include_router(module.router)

    @app.get("/healthz", tags=["meta"], summary="Liveness")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
