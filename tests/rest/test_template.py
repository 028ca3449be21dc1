"""Path templates of google.api.http rules, including custom verbs."""

from __future__ import annotations

import pytest

from gopher_server.rest._template import TemplateError, parse_template


def test_plain_and_variable_segments() -> None:
    template = parse_template("/api/jobs/{job_id}")
    assert template.variables == ("job_id",)
    assert template.openapi_path == "/api/jobs/{job_id}"
    assert template.match("/api/jobs/abc") == {"job_id": "abc"}
    assert template.match("/api/jobs/") is None
    assert template.match("/api/jobs/a/b") is None
    assert template.match("/api/jobs") is None


def test_custom_verbs() -> None:
    batch = parse_template("/api/jobs:batch")
    assert batch.variables == ()
    assert batch.match("/api/jobs:batch") == {}
    assert batch.match("/api/jobs") is None
    pause = parse_template("/api/queues/{priority}:pause")
    assert pause.openapi_path == "/api/queues/{priority}:pause"
    assert pause.match("/api/queues/high:pause") == {"priority": "high"}
    assert pause.match("/api/queues/high:resume") is None
    assert pause.match("/api/queues/high") is None


def test_values_are_percent_decoded_after_matching() -> None:
    template = parse_template("/api/schedules/{name}:pause")
    assert template.match("/api/schedules/a%2Fb%3Ac:pause") == {"name": "a/b:c"}
    assert template.match("/api/schedules/nightly%20report:pause") == {"name": "nightly report"}


def test_patterns_and_wildcards() -> None:
    template = parse_template("/v1/{name=projects/*/things/**}:get")
    assert template.variables == ("name",)
    assert template.openapi_path == "/v1/{name}:get"
    assert template.match("/v1/projects/p/things/a/b:get") == {"name": "projects/p/things/a/b"}
    assert template.match("/v1/projects/p/x/a:get") is None
    assert parse_template("/v1/*/x").match("/v1/any/x") == {}


def test_specificity_prefers_literal_text() -> None:
    bare = parse_template("/api/dlq/{job_id}")
    verb = parse_template("/api/dlq/{job_id}:requeue")
    assert verb.specificity > bare.specificity


@pytest.mark.parametrize("bad", ["api/jobs", "/api/{job_id", "/api/job_id}", "/a//b", "/{1x}"])
def test_bad_templates_are_refused(bad: str) -> None:
    with pytest.raises(TemplateError):
        parse_template(bad)
