"""Routes read from the contract: every unary RPC with a `google.api.http` option.

Adding an annotated RPC to a `gopher.v1` proto adds its route (and its OpenAPI operation)
with no hand-written handler. Streaming RPCs and RPCs without the option get no route.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType

import gopher.v1
from google.api import annotations_pb2, http_pb2
from google.protobuf.descriptor import Descriptor, MethodDescriptor

from gopher_server.rest._errors import RestError
from gopher_server.rest._template import PathTemplate, parse_template

# RPC name prefixes that create something: a POST to them answers 201 Created.
CREATING_PREFIXES = ("Create", "Submit")


@dataclass(frozen=True)
class Binding:
    """One HTTP route of one RPC: verb, path template, and where the body goes.

    `body` is "" (no body; other fields come from the query string), "*" (the body is the
    request message, less path fields) or a field name. `response_body` is "" (the whole
    response) or the response field to answer with.
    """

    http_method: str
    template: PathTemplate
    body: str
    response_body: str
    method: MethodDescriptor

    @property
    def request_type(self) -> Descriptor:
        """Descriptor of the RPC's request message."""
        return self.method.input_type

    @property
    def success_status(self) -> int:
        """201 for a POST that creates something, else 200."""
        creates = self.method.name.startswith(CREATING_PREFIXES)
        return 201 if self.http_method == "POST" and creates else 200


def _rule_bindings(rule: http_pb2.HttpRule, method: MethodDescriptor) -> Iterator[Binding]:
    pattern = rule.WhichOneof("pattern")
    if pattern is not None:
        if pattern == "custom":
            verb, path = rule.custom.kind.upper(), rule.custom.path
        else:
            verb, path = pattern.upper(), getattr(rule, pattern)
        yield Binding(verb, parse_template(path), rule.body, rule.response_body, method)
    for extra in rule.additional_bindings:
        yield from _rule_bindings(extra, method)


def contract_modules() -> list[ModuleType]:
    """Import every generated `*_pb2` module of the `gopher.v1` package."""
    names = sorted(
        info.name for info in pkgutil.iter_modules(gopher.v1.__path__) if info.name.endswith("_pb2")
    )
    return [importlib.import_module(f"gopher.v1.{name}") for name in names]


def discover_bindings(modules: Sequence[ModuleType] | None = None) -> list[Binding]:
    """Return the bindings of every annotated unary RPC in `modules` (default: gopher.v1)."""
    bindings: list[Binding] = []
    for module in modules if modules is not None else contract_modules():
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                if method.client_streaming or method.server_streaming:
                    continue  # no request/response shape in plain HTTP
                options = method.GetOptions()
                if options.HasExtension(annotations_pb2.http):
                    bindings.extend(
                        _rule_bindings(options.Extensions[annotations_pb2.http], method)
                    )
    return bindings


class Router:
    """Finds the binding for a method and raw path, or raises a 404 or 405 RestError."""

    def __init__(self, bindings: Sequence[Binding]) -> None:
        # Most specific first, so `/api/dlq/{job_id}:requeue` wins over a bare `{job_id}`.
        self.bindings = sorted(bindings, key=lambda b: -b.template.specificity)

    def match(self, http_method: str, raw_path: str) -> tuple[Binding, dict[str, str]]:
        """Return the binding and decoded path variables for a request."""
        allowed: list[str] = []
        for binding in self.bindings:
            variables = binding.template.match(raw_path)
            if variables is None:
                continue
            if binding.http_method == http_method:
                return binding, variables
            if binding.http_method not in allowed:
                allowed.append(binding.http_method)
        if allowed:
            raise RestError(
                405,
                "method_not_allowed",
                f"{http_method} is not allowed here; use {', '.join(allowed)}",
                headers={"Allow": ", ".join(allowed)},
            )
        raise RestError(404, "not_found", f"no route for {raw_path}")
