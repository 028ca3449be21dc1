"""Rendering: the Jinja2 environment (autoescaping on, always), the filters the
templates use, and the security headers every dashboard answer carries."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

import jinja2
from google.protobuf.timestamp_pb2 import Timestamp
from gopher.v1 import job_pb2
from starlette.responses import HTMLResponse

# No inline script or style, nothing from another host: the pages load their own CSS,
# htmx and app.js, post forms to themselves and may not be framed.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
STATE_NAMES = {v: k.removeprefix("JOB_STATE_").lower() for k, v in job_pb2.JobState.items()}
PRIORITY_NAMES = {v: k.removeprefix("PRIORITY_").lower() for k, v in job_pb2.Priority.items()}


def _when(ts: Timestamp | None) -> str:
    if ts is None or (ts.seconds == 0 and ts.nanos == 0):
        return "-"
    return ts.ToDatetime(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _ago(ts: Timestamp | None, now: dt.datetime | None = None) -> str:
    if ts is None or ts.seconds == 0:
        return "-"
    seconds = ((now or dt.datetime.now(dt.UTC)) - ts.ToDatetime(dt.UTC)).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if abs(seconds) >= size:
            return f"{seconds / size:.0f}{unit} ago"
    return f"{max(seconds, 0):.0f}s ago"


def _pretty_json(text: str) -> str:
    """JSON text indented for reading; text that is not JSON is shown as it is."""
    if not text:
        return ""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def make_environment() -> jinja2.Environment:
    """Templates from the package; every `{{ }}` is HTML-escaped (autoescape is forced on
    for every template, whatever its name)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("gopher_server.ui", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        when=_when,
        ago=_ago,
        pretty_json=_pretty_json,
        thousands=lambda n: f"{n:,}",
        state=lambda v: STATE_NAMES.get(v, "unknown"),
        priority=lambda v: PRIORITY_NAMES.get(v, "normal") if v else "normal",
    )
    return env


def page(
    env: jinja2.Environment, name: str, context: Mapping[str, Any], status_code: int = 200
) -> HTMLResponse:
    """Render template `name` with `context` as an HTML answer with the security headers."""
    html = env.get_template(name).render(**context)
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
