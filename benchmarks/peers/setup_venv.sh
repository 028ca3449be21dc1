#!/usr/bin/env bash
# Create the gitignored peer venvs from PyPI: benchmarks/.peers-venv (Celery, Dramatiq,
# RQ, taskiq, matplotlib) and benchmarks/.peers-venv-arq (arq, which needs an older
# redis-py). Usage: bash benchmarks/peers/setup_venv.sh [python]. Idempotent.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${1:-python3}"
make_venv() {  # $1 venv dir, $2 requirements file
  if [ ! -x "$1/bin/python" ]; then
    "$python" -m venv "$1"
  fi
  "$1/bin/python" -m pip install --quiet --disable-pip-version-check -r "$2"
}
make_venv "$here/../.peers-venv" "$here/requirements.txt"
make_venv "$here/../.peers-venv-arq" "$here/requirements-arq.txt"
for v in .peers-venv .peers-venv-arq; do
  "$here/../$v/bin/python" -m pip list --format=freeze 2>/dev/null \
    | grep -i -E '^(celery|dramatiq|rq|arq|taskiq|taskiq-redis|redis|matplotlib)==' || true
done
