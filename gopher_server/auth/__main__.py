"""`python -m gopher_server.auth NAME ROLE[,ROLE]`: make a token and its config line."""

from __future__ import annotations

import secrets
import sys

from gopher_server.auth.tokens import hash_token, parse_line
from gopher_server.config import ConfigError


def main(argv: list[str]) -> int:
    """`python -m gopher_server.auth NAME ROLE[,ROLE]`: print a new token and its line."""
    if len(argv) != 2:
        print("usage: python -m gopher_server.auth NAME ROLE[,ROLE]", file=sys.stderr)
        return 2
    token = secrets.token_urlsafe(32)
    line = f"{argv[0]} {argv[1]} {hash_token(token)}"
    try:
        parse_line(line, "arguments")
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"token (give to the client, store nowhere else): {token}", file=sys.stderr)
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
