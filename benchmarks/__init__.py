"""Gopher's benchmark suite: `python -m benchmarks` (quick), `--full`, `--peers`.

See docs/benchmarks.md for what each scenario measures and the latest results. Modules
that run inside worker processes or peer virtualenvs (`probe`, `peers.*`) import only
the standard library and redis-py.
"""
