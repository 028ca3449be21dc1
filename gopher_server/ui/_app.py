"""The dashboard's ASGI app, served by the broker's HTTP port under `/ui/`.

Pages read without JavaScript (plain links and forms); static/app.js adds live refresh
(through the vendored htmx) and "select all". Every call goes through the contract with
the signed-in user's token (`_calls.Calls`); forms post back here, where the same-origin
guard of the REST API refuses anything another site sends.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from urllib.parse import parse_qsl

import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gopher_client import GopherError, Unauthenticated
from gopher_server.rest._errors import RestError
from gopher_server.rest._invoke import Connection, Invoker
from gopher_server.rest.guard import check_same_origin
from gopher_server.ui._calls import Calls
from gopher_server.ui._render import SECURITY_HEADERS, make_environment, page

SESSION_COOKIE = "gopher_session"
MAX_FORM_BYTES = 256 * 1024
# A forwarded prefix must look like a path ("/a/b"): it is written into every link.
_PREFIX_RE = re.compile(r"^(/[A-Za-z0-9._~-]+)*$")
STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


@dataclass(frozen=True)
class UiSettings:
    """`base_path` is where a reverse proxy mounts the broker ("" for the root; an
    `X-Forwarded-Prefix` header overrides it per request); `read_only` hides every
    action and refuses every form post, whatever the caller's role."""

    base_path: str = ""
    read_only: bool = False


class Dashboard:
    """Shared state of the pages: the broker connection, templates and settings."""

    def __init__(self, client: Connection, settings: UiSettings) -> None:
        if not _PREFIX_RE.match(settings.base_path):
            raise ValueError(f"--ui-base-path must look like /a/b, got {settings.base_path!r}")
        self.invoker = Invoker(client)
        self.settings = settings
        self.env: jinja2.Environment = make_environment()
        self.static = resources.files("gopher_server.ui") / "static"

    def base(self, request: Request) -> str:
        """The dashboard's URL path prefix for this request, e.g. "/gopher/ui"."""
        forwarded = request.headers.get("x-forwarded-prefix", "").rstrip("/")
        prefix = forwarded if forwarded and _PREFIX_RE.match(forwarded) else self.settings.base_path
        return f"{prefix}/ui"

    def calls(self, request: Request) -> Calls:
        """Calls with the session's token, if any."""
        token = request.cookies.get(SESSION_COOKIE, "")
        authorization = f"Bearer {token}" if token and token.isprintable() else None
        return Calls(self.invoker, authorization)

    def render(
        self, request: Request, name: str, values: Mapping[str, object], status_code: int = 200
    ) -> Response:
        """A page with the context every template expects, plus `values`."""
        base = self.base(request)
        context = dict(values)
        context.setdefault("message", request.query_params.get("msg", ""))
        context.setdefault("can_act", False)
        context.setdefault("caller", None)
        return page(
            self.env,
            name,
            {
                "base": base,
                "path": request.url.path,
                "read_only": self.settings.read_only,
                **context,
            },
            status_code,
        )

    def to_login(self, request: Request) -> Response:
        """Send an unauthenticated browser to the login form."""
        return RedirectResponse(f"{self.base(request)}/login", status_code=303)

    def error(self, request: Request, error: GopherError | RestError) -> Response:
        """An error page: 401 sends to the login form, the rest show the message."""
        if isinstance(error, Unauthenticated):
            return self.to_login(request)
        if isinstance(error, RestError):
            status, text = error.status, error.message
        else:
            from gopher_server.rest._errors import from_gopher_error

            mapped = from_gopher_error(error)
            status, text = mapped.status, mapped.message
        return self.render(request, "error.html", {"error": text, "status": status}, status)

    async def form(self, request: Request) -> dict[str, list[str]]:
        """The posted form (urlencoded), after the same-origin check; raises RestError."""
        check_same_origin(request.headers, require_origin=True)
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            raise RestError(413, "payload_too_large", "the form is too large")
        fields: dict[str, list[str]] = {}
        for key, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
            fields.setdefault(key, []).append(value)
        return fields

    async def static_file(self, request: Request) -> Response:
        """A file of static/ (no directories, known types only), cached for a day."""
        name = request.path_params["name"]
        kind = STATIC_TYPES.get(name[name.rfind(".") :] if "." in name else "")
        item = self.static / name
        if "/" in name or kind is None or not item.is_file():
            return Response("not found", status_code=404, media_type="text/plain")
        headers = {**SECURITY_HEADERS, "Cache-Control": "public, max-age=86400"}
        return Response(item.read_bytes(), media_type=kind, headers=headers)


def create_ui_app(client: Connection, settings: UiSettings | None = None) -> Starlette:
    """The dashboard over `client` (a broker connection the caller owns), to be mounted
    at `/ui` of the broker's HTTP app."""
    from gopher_server.ui import _actions, _pages

    ui = Dashboard(client, settings or UiSettings())
    routes = [
        Route("/static/{name}", ui.static_file),
        Route("/login", _actions.login_form(ui), methods=["GET"]),
        Route("/login", _actions.login(ui), methods=["POST"]),
        Route("/logout", _actions.logout(ui), methods=["POST"]),
        Route("/actions/{action}", _actions.act(ui), methods=["POST"]),
        *[Route(path, handler, methods=["GET"]) for path, handler in _pages.routes(ui)],
    ]
    return Starlette(routes=routes)
