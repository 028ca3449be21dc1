"""The guard in front of every state-changing HTTP call: JSON only, and never cross-site.

A broker without auth (the dev default) trusts whoever can reach its port, and a browser
can reach it on behalf of any web page: a plain HTML form posted from another site would
pause a queue. Two checks close that door, each sufficient on its own for today's browsers:

- **JSON only.** A form (or a `fetch` in `no-cors` mode) can send only
  `application/x-www-form-urlencoded`, `multipart/form-data` or `text/plain`, or no
  Content-Type at all. Anything that sends `application/json` cross-site must pass a CORS
  preflight, which the broker never grants. So a state-changing REST call must declare
  JSON (415 otherwise), even when it has no body.
- **Same origin.** Browsers mark every request with `Sec-Fetch-Site` and every POST, PUT
  and DELETE with `Origin`. A request marked `cross-site`, or whose Origin's host is not
  the host the request was sent to (`Host`, or the `X-Forwarded-Host` a reverse proxy
  sets), is refused with 403. Clients that are not browsers (curl, SDKs) send neither
  header and pass.

The dashboard's own form posts are not JSON; they go through `check_same_origin` with
`require_origin=True` (a browser always tells where a form post comes from).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from gopher_server.rest._errors import RestError

# HTTP methods that never change anything (RFC 9110 safe methods).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Sec-Fetch-Site values that say the request came from the broker's own pages (or was
# typed by the user, "none").
TRUSTED_FETCH_SITES = frozenset({"same-origin", "none"})


def is_json_media_type(value: str | None) -> bool:
    """True for `application/json` and `application/*+json`, parameters ignored."""
    media = (value or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def check_json(headers: Mapping[str, str]) -> None:
    """Raise a 415 RestError unless the request declares a JSON Content-Type."""
    value = headers.get("content-type")
    if is_json_media_type(value):
        return
    shown = "no Content-Type" if value is None else f"Content-Type {value!r}"
    raise RestError(
        415,
        "unsupported_media_type",
        f"{shown} is not JSON; state-changing calls must send Content-Type: application/json",
    )


def _request_hosts(headers: Mapping[str, str]) -> set[str]:
    hosts = {headers.get("host", "").strip().lower()}
    forwarded = headers.get("x-forwarded-host")
    if forwarded:
        hosts.add(forwarded.split(",", 1)[0].strip().lower())
    return hosts - {""}


def _origin_host(origin: str) -> str:
    """`host[:port]` of an Origin header as the Host header would spell it ("" if opaque)."""
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""  # "null" (sandboxed frames, file: pages) and anything unparsable
    default = {"http": 80, "https": 443}[parts.scheme]
    host = parts.netloc.rsplit("@", 1)[-1].lower()
    if parts.port == default:
        host = host.rsplit(":", 1)[0]
    return host


def _forbidden(reason: str) -> RestError:
    return RestError(403, "cross_site_request", f"cross-site request refused: {reason}")


def check_same_origin(headers: Mapping[str, str], *, require_origin: bool = False) -> None:
    """Raise a 403 RestError for a request a browser sent on behalf of another site.

    `require_origin` also refuses a request that carries neither Origin nor a trusted
    Sec-Fetch-Site (for routes only browsers use, such as the dashboard's forms).
    """
    fetch_site = headers.get("sec-fetch-site", "").strip().lower()
    if fetch_site and fetch_site not in TRUSTED_FETCH_SITES:
        raise _forbidden(f"Sec-Fetch-Site is {fetch_site!r}")
    origin = headers.get("origin")
    if origin is not None:
        host = _origin_host(origin)
        if not host or host not in _request_hosts(headers):
            raise _forbidden(f"Origin {origin!r} is not this broker")
    elif require_origin and fetch_site not in TRUSTED_FETCH_SITES:
        raise _forbidden("the request says neither Origin nor Sec-Fetch-Site")


def guard_state_change(method: str, headers: Mapping[str, str]) -> None:
    """Both checks for a REST call, for every method that is not safe; see the module."""
    if method.upper() in SAFE_METHODS:
        return
    check_same_origin(headers)
    check_json(headers)
