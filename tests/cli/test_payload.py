"""Reading --payload from text, files and stdin."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from gopher_cli.payload import PayloadError, read_payload


def test_inline_object_is_compacted() -> None:
    assert json.loads(read_payload('{"to": "a@b.c", "n": [1, 2]}')) == {
        "to": "a@b.c",
        "n": [1, 2],
    }


def test_missing_payload_is_an_empty_object() -> None:
    assert read_payload(None) == "{}"
    assert read_payload("") == "{}"


def test_file_payload(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text('{"x": "é"}', encoding="utf-8")
    assert json.loads(read_payload(f"@{path}")) == {"x": "é"}


def test_stdin_payload() -> None:
    assert json.loads(read_payload("-", io.StringIO('{"a": 1}\n'))) == {"a": 1}


def test_invalid_json_names_the_option() -> None:
    with pytest.raises(PayloadError, match=r"^--payload is not valid JSON: Expecting"):
        read_payload("{bad")


def test_invalid_stdin_names_stdin() -> None:
    with pytest.raises(PayloadError, match="from stdin is not valid JSON"):
        read_payload("-", io.StringIO("nope"))


@pytest.mark.parametrize(
    ("text", "kind"),
    [("[1]", "an array"), ('"s"', "a string"), ("3", "a number"), ("null", "null")],
)
def test_non_object_is_refused(text: str, kind: str) -> None:
    with pytest.raises(PayloadError, match=f"must be a JSON object, not {kind}"):
        read_payload(text)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(PayloadError, match=r"cannot read .*missing\.json: No such file"):
        read_payload(f"@{tmp_path / 'missing.json'}")
