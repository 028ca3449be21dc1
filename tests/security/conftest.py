"""Fixtures for security tests: a token table, brokers with auth, and certificates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from gopher_cli.app import app
from gopher_server.auth import hash_token
from tests.cli.conftest import Run
from tests.security.certs import CertificateAuthority, Pem
from tests.support import BrokerThread

# One token per role, and one holding two roles (a worker that also submits follow-ups).
TOKENS = {
    "submitter": ("submit", "tok-submit-0123456789"),
    "worker": ("work", "tok-work-0123456789"),
    "operator": ("admin", "tok-admin-0123456789"),
    "pipeline": ("submit,work", "tok-both-0123456789"),
    "viewer": ("view", "tok-view-0123456789"),
}


def token_lines() -> str:
    """The token table as configured: names, roles and digests, never the tokens."""
    return "\n".join(f"{name} {role} {hash_token(tok)}" for name, (role, tok) in TOKENS.items())


def token(name: str) -> str:
    """The plain token of a configured name."""
    return TOKENS[name][1]


@pytest.fixture
def tokens_file(tmp_path: Path) -> Path:
    """A tokens file in the documented format."""
    path = tmp_path / "tokens"
    path.write_text("# gopher tokens\n" + token_lines() + "\n")
    return path


@pytest.fixture
def secured_broker(broker_factory: Callable[..., BrokerThread], tokens_file: Path) -> BrokerThread:
    """A broker that requires tokens, with HTTP on a free port."""
    return broker_factory(http_port=0, auth_tokens_file=str(tokens_file))


@dataclass(frozen=True)
class Pki:
    """A CA with a server certificate and two client certificates (one from another CA)."""

    ca: Pem
    server: Pem
    client: Pem
    stranger: Pem


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """Certificates generated for this test session."""
    directory = tmp_path_factory.mktemp("pki")
    ca = CertificateAuthority(directory)
    other = CertificateAuthority(directory, "other-ca")
    return Pki(
        ca=ca.pem,
        server=ca.issue("server", server=True),
        client=ca.issue("worker-1", server=False),
        stranger=other.issue("stranger", server=False),
    )


@pytest.fixture
def gopherctl() -> Run:
    """Run the real gopherctl app in-process; returns the result (exit code, stdout, stderr)."""
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(app, list(args), catch_exceptions=False)

    return run
