"""Run gopherctl as `python -m gopher_cli`."""

from gopher_cli.app import main

main()
