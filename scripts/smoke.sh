#!/usr/bin/env bash
# Start the dev stack exactly as the README says, use it through every entry point
# (gRPC via gopherctl, REST via curl, reflection via grpcurl), stop it with Ctrl-C,
# and check that no process is left behind.
set -euo pipefail
cd "$(dirname "$0")/.."
V=.venv/bin
LOG=$(mktemp)
PORT=50151 HTTP=8151 RPORT=6551

setsid ./run dev --port $PORT --http-port $HTTP --redis-port $RPORT >"$LOG" 2>&1 &
DEV=$!
cleanup() { kill -TERM -- "-$DEV" 2>/dev/null || true; }
trap cleanup EXIT

for _ in $(seq 1 300); do
  grep -q "Press Ctrl-C to stop" "$LOG" && break
  kill -0 "$DEV" 2>/dev/null || { cat "$LOG"; echo "dev stack exited early"; exit 1; }
  sleep 0.1
done
grep -q "Press Ctrl-C to stop" "$LOG" || { cat "$LOG"; echo "dev stack not ready"; exit 1; }

export GOPHER_SERVER=127.0.0.1:$PORT
$V/gopherctl submit email --payload '{"to": "smoke@example.com"}' --priority high --wait
BODY=$(curl -sf -X POST "http://127.0.0.1:$HTTP/api/jobs" -H 'content-type: application/json' \
  -d '{"type": "email", "payload": {"to": "user@example.com", "subject": "Welcome!", "body": "Thank you for signing up."}, "priority": "high", "retries": 3}')
echo "POST /api/jobs -> $BODY"
echo "$BODY" | grep -q '"status":"enqueued"'
if [ -x $V/grpcurl ]; then
  SERVICES=$($V/grpcurl -plaintext "127.0.0.1:$PORT" list)
  echo "$SERVICES"
  echo "$SERVICES" | grep -q gopher.v1.JobService
fi
curl -sf "http://127.0.0.1:$HTTP/metrics" >/dev/null

# SIGINT is what Ctrl-C sends; a background job of a non-interactive shell starts with
# SIGINT ignored, and gopherctl dev re-arms it, so this is the real Ctrl-C path.
kill -INT "$DEV"
trap - EXIT
for _ in $(seq 1 300); do kill -0 "$DEV" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$DEV" 2>/dev/null; then cat "$LOG"; echo "dev stack did not stop"; exit 1; fi
if pgrep -f "redis-port $RPORT|--port $PORT|127.0.0.1:$RPORT" >/dev/null; then
  pgrep -af "redis-port $RPORT|--port $PORT|127.0.0.1:$RPORT"; echo "processes left behind"; exit 1
fi
tail -n 3 "$LOG"
echo "smoke test passed"
