"""The public API of the REST package is what `__all__` exports."""

from __future__ import annotations

import inspect

import gopher_server.rest as rest


def test_exported_members() -> None:
    assert rest.__all__ == ["DEFAULT_MAX_BODY_BYTES", "create_app", "serve"]
    assert rest.DEFAULT_MAX_BODY_BYTES == 1_048_576 + 65_536


def test_entry_point_signatures() -> None:
    create = inspect.signature(rest.create_app)
    assert list(create.parameters) == ["client", "max_body_bytes"]
    assert create.parameters["max_body_bytes"].kind is inspect.Parameter.KEYWORD_ONLY
    assert create.parameters["max_body_bytes"].default == 1_048_576 + 65_536
    serve = inspect.signature(rest.serve)
    assert {name: p.default for name, p in serve.parameters.items()} == {
        "server": inspect.Parameter.empty,
        "host": "127.0.0.1",
        "port": 8080,
        "token": None,
    }
