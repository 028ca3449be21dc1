"""The token table (format, hashing, lookups), the token maker, and auth as REST and
gopherctl users meet it."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import httpx
import pytest

from gopher_server.auth import TokenTable, hash_token
from gopher_server.config import ConfigError, ServerConfig
from tests.cli.conftest import Run
from tests.security.conftest import token
from tests.support import BrokerThread


def test_digest_format_and_lookup() -> None:
    assert hash_token("abc") == "sha256:" + hashlib.sha256(b"abc").hexdigest()
    table = TokenTable.parse(f"ops admin {hash_token('s3cret')}  # comment\n\n", "test")
    entry = table.lookup("s3cret")
    assert entry is not None and entry.name == "ops" and entry.roles == {"admin"}
    assert table.lookup("s3cre") is None and table.lookup("") is None


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("ops admin", "expected 'NAME ROLE sha256:HEX'"),
        (f"ops root {hash_token('x')}", "unknown role"),
        ("ops admin plaintext-token", "sha256: and 64 hex digits"),
        ("ops admin sha256:" + "z" * 64, "not hexadecimal"),
        (f"a admin {hash_token('x')};a submit {hash_token('y')}", "unique"),
    ],
)
def test_bad_lines_are_refused(line: str, error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        TokenTable.parse(line, "test")


def test_inline_tokens_add_to_the_file(tokens_file: object) -> None:
    config = ServerConfig(
        auth_tokens_file=str(tokens_file), auth_tokens=f"extra work {hash_token('e')}"
    )
    table = TokenTable.from_config(config)
    assert table is not None and table.lookup("e") is not None
    assert table.lookup(token("operator")) is not None
    assert TokenTable.from_config(ServerConfig()) is None  # nothing configured: auth off


def test_the_token_maker_prints_a_token_and_its_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gopher_server.auth", "ci", "submit,work"],
        capture_output=True,
        text=True,
        check=True,
    )
    new_token = done.stderr.rsplit(" ", 1)[-1].strip()
    table = TokenTable.parse(done.stdout, "stdout")
    entry = table.lookup(new_token)
    assert entry is not None and entry.roles == {"submit", "work"}
    assert new_token not in done.stdout  # only the digest goes into the config
    bad = subprocess.run(
        [sys.executable, "-m", "gopher_server.auth", "ci", "root"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "unknown role" in bad.stderr


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"authorization": "Bearer nope"}, 401),
        ({"authorization": "Basic eDp5"}, 401),
        ({"authorization": f"Bearer {token('submitter')}"}, 403),
        ({"authorization": f"Bearer {token('operator')}"}, 200),
    ],
)
def test_rest_answers_401_and_403(
    secured_broker: BrokerThread, headers: dict[str, str], status: int
) -> None:
    response = httpx.get(f"{secured_broker.http_url}/api/workers", headers=headers, timeout=10)
    assert response.status_code == status, response.text
    if status >= 400:
        code = {401: "unauthenticated", 403: "permission_denied"}[status]
        assert response.json()["error"]["code"] == code


def test_rest_health_stays_open(secured_broker: BrokerThread) -> None:
    assert httpx.get(f"{secured_broker.http_url}/healthz", timeout=10).status_code == 200


def test_gopherctl_reports_token_problems(secured_broker: BrokerThread, gopherctl: Run) -> None:
    address = secured_broker.address
    result = gopherctl("queues", "--server", address)
    assert result.exit_code == 1 and "refused the token" in result.stderr
    result = gopherctl("queues", "--server", address, "--token", token("worker"))
    assert result.exit_code == 1 and "permission denied" in result.stderr
    result = gopherctl("queues", "--server", address, "--token", token("operator"), "-o", "json")
    assert result.exit_code == 0, result.stderr
