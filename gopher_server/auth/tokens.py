"""Tokens and roles: the token table, its file format, and bearer header parsing.

Tokens are configured only as SHA-256 digests, one line each: `NAME ROLE[,ROLE] sha256:HEX`
(from `--auth-tokens-file` and/or `GOPHER_AUTH_TOKENS`, ";"-separated). Roles:

    submit  JobService (submit, get, list, watch, cancel)
    work    WorkerService (stream, ack, nack, extend)
    view    every read of JobService and AdminService (Get*, List*, Watch*), no change
    admin   every service

Every valid token may call AdminService/GetCaller (who am I, what may I do).

Health and reflection stay open: load balancers and orchestrators probe health without
credentials, and reflection only describes the public contract (docs/security.md).
Make a token with `python -m gopher_server.auth NAME ROLE`.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path

from gopher_server.config import ConfigError, ServerConfig

ROLES = ("submit", "work", "view", "admin")
# Services each role may call; admin may call every service.
ROLE_SERVICES: dict[str, frozenset[str]] = {
    "submit": frozenset({"gopher.v1.JobService"}),
    "work": frozenset({"gopher.v1.WorkerService"}),
}
# The view role reads these services through their read methods only.
VIEW_SERVICES = frozenset({"gopher.v1.JobService", "gopher.v1.AdminService"})
READ_PREFIXES = ("Get", "List", "Watch")
# Methods every authenticated caller may use, whatever its role.
ANY_ROLE_METHODS = frozenset({"gopher.v1.AdminService/GetCaller"})
# Open without a token: health probes and the contract's description.
OPEN_SERVICES = frozenset(
    {
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
        "grpc.reflection.v1.ServerReflection",
    }
)
DIGEST_PREFIX = "sha256:"


def hash_token(token: str) -> str:
    """The `sha256:HEX` digest under which `token` is configured."""
    return DIGEST_PREFIX + hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class TokenEntry:
    """One configured token: a name for logs and rate limits, its roles, its digest."""

    name: str
    roles: frozenset[str]
    digest: bytes

    def allows(self, service: str, method: str = "") -> bool:
        """True when one of the roles may call `method` of `service` (e.g.
        "gopher.v1.JobService", "SubmitJob"); "" for the method asks about the service
        as a whole, which the read-only view role never gets."""
        if "admin" in self.roles or f"{service}/{method}" in ANY_ROLE_METHODS:
            return True
        if "view" in self.roles and service in VIEW_SERVICES and method.startswith(READ_PREFIXES):
            return True
        return any(service in ROLE_SERVICES.get(role, frozenset()) for role in self.roles)


def parse_line(line: str, where: str) -> TokenEntry:
    """One `NAME ROLE[,ROLE] sha256:HEX` line. Raises ConfigError naming `where`."""
    parts = line.split()
    if len(parts) != 3:
        raise ConfigError(f"{where}: expected 'NAME ROLE sha256:HEX', got {len(parts)} fields")
    name, roles_text, digest = parts
    roles = frozenset(roles_text.split(","))
    if not roles <= set(ROLES):
        raise ConfigError(f"{where}: unknown role in {roles_text!r}; roles are {', '.join(ROLES)}")
    hex_part = digest.removeprefix(DIGEST_PREFIX)
    if not digest.startswith(DIGEST_PREFIX) or len(hex_part) != 64:
        raise ConfigError(f"{where}: the digest must be sha256: and 64 hex digits")
    try:
        raw = bytes.fromhex(hex_part)
    except ValueError:
        raise ConfigError(f"{where}: the digest is not hexadecimal") from None
    return TokenEntry(name, roles, raw)


class TokenTable:
    """The configured tokens. Lookups hash the presented token and compare digests in
    constant time against every entry, so timing tells nothing about near misses."""

    def __init__(self, entries: list[TokenEntry]) -> None:
        names = [e.name for e in entries]
        if len(set(names)) != len(names):
            raise ConfigError("token names must be unique (they key logs and rate limits)")
        self.entries = entries

    @classmethod
    def parse(cls, text: str, source: str) -> TokenTable:
        """Entries from lines (or ";"-separated entries); blank lines and `#` comments skip."""
        entries = []
        for number, raw in enumerate(text.replace(";", "\n").splitlines(), 1):
            line = raw.split("#", 1)[0].strip()
            if line:
                entries.append(parse_line(line, f"{source} entry {number}"))
        return cls(entries)

    @classmethod
    def from_config(cls, config: ServerConfig) -> TokenTable | None:
        """The table from the file and inline settings; None when auth is off.
        Raises ConfigError for a missing file, a bad line, or a file with no tokens."""
        entries: list[TokenEntry] = []
        if config.auth_tokens_file:
            path = Path(config.auth_tokens_file)
            try:
                text = path.read_text()
            except OSError as exc:
                raise ConfigError(f"cannot read the auth tokens file {path}: {exc}") from None
            from_file = cls.parse(text, str(path)).entries
            if not from_file:  # fail closed: an empty file must not turn auth off
                raise ConfigError(f"the auth tokens file {path} holds no tokens")
            entries += from_file
        if config.auth_tokens:
            entries += cls.parse(config.auth_tokens, "GOPHER_AUTH_TOKENS").entries
        return cls(entries) if entries else None

    def lookup(self, token: str) -> TokenEntry | None:
        """The entry for a presented token, or None."""
        digest = hashlib.sha256(token.encode()).digest()
        found = None
        for entry in self.entries:  # no early exit: the same work whatever matches
            if hmac.compare_digest(entry.digest, digest):
                found = entry
        return found


def bearer_token(metadata: object) -> tuple[str | None, str]:
    """(token, failure reason) from call metadata: reason is "" when a token was found,
    else "missing" (no header) or "malformed" (not one `Bearer <token>` header)."""
    values = [v for k, v in (metadata or ()) if k == "authorization"]  # type: ignore[attr-defined]
    if not values:
        return None, "missing"
    if len(values) > 1 or not isinstance(values[0], str):
        return None, "malformed"
    scheme, _, token = values[0].partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None, "malformed"
    return token, ""
