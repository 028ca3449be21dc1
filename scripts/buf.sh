#!/usr/bin/env bash
# Run buf (from npm: @bufbuild/buf), installing it into .tools/ on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
BUF_VERSION=1.75.0
if command -v buf >/dev/null 2>&1; then
  exec buf "$@"
fi
if [ ! -x .tools/node_modules/.bin/buf ]; then
  mkdir -p .tools
  npm install --silent --prefix .tools "@bufbuild/buf@${BUF_VERSION}" >/dev/null
fi
exec .tools/node_modules/.bin/buf "$@"
