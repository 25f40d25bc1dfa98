#!/usr/bin/env bash
# LocalStack without Docker: installs localstack-core into localstack/.venv (Python 3.13), runs it in host
# mode on 127.0.0.1:4566, waits until S3/SQS/KMS answer, then creates the stack's queues, bucket and key
# from infra/template.yaml (create_resources.py) and prints the environment they resolve to.
#
#   localstack/run-host.sh            run in the foreground until Ctrl-C
#   localstack/run-host.sh --detach   leave it running in the background (pid in localstack/.data/)
#   localstack/run-host.sh stop       stop a detached instance
#
# Env: LOCALSTACK_PORT (4566), LAMINA_STACK_NAME (lamina), LOCALSTACK_SERVICES (s3,sqs,kms,...).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
DATA="$HERE/.data"
PID_FILE="$DATA/localstack.pid"
LOG_FILE="$DATA/localstack.log"
PORT="${LOCALSTACK_PORT:-4566}"
ENDPOINT="http://127.0.0.1:$PORT"
STACK_NAME="${LAMINA_STACK_NAME:-lamina}"
STARTUP_TIMEOUT_S=90
# localstack-core 2026.3.0 runs on Python 3.13 with these pins (newer cbor2/cryptography/pyopenssl break it).
LOCALSTACK_PACKAGES=("localstack-core[runtime]==2026.3.0" "cbor2<6" "pyopenssl==24.3.0" "cryptography<45"
  "service-identity")

find_python() {
  local candidate
  if command -v pyenv >/dev/null 2>&1; then
    candidate="$(pyenv root)/versions/3.13.0/bin/python3.13"
    if [[ -x "$candidate" ]]; then echo "$candidate"; return; fi
  fi
  if command -v python3.13 >/dev/null 2>&1; then command -v python3.13; return; fi
  echo "run-host.sh: Python 3.13 not found (pyenv 3.13.0 or python3.13 on PATH)" >&2
  exit 1
}

ensure_venv() {
  if [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c "import moto, hypercorn, localstack.runtime.main" 2>/dev/null; then
    return
  fi
  local python
  python="$(find_python)"
  echo "Installing LocalStack into $VENV (with $python)..." >&2
  if command -v uv >/dev/null 2>&1; then
    uv venv -q -p "$python" "$VENV"
    uv pip install -q -p "$VENV/bin/python" "${LOCALSTACK_PACKAGES[@]}"
  else
    "$python" -m venv "$VENV"
    "$VENV/bin/pip" install -q "${LOCALSTACK_PACKAGES[@]}"
  fi
}

is_running() {
  [[ -f "$PID_FILE" ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null
}

stop() {
  if is_running; then
    local pid
    pid="$(cat "$PID_FILE")"
    kill "$pid"
    # LocalStack shuts its services down in a few seconds; give it up to 30.
    for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    echo "LocalStack (pid $pid) stopped." >&2
  fi
  rm -f "$PID_FILE"
}

wait_healthy() {
  "$VENV/bin/python" - "$ENDPOINT" "$STARTUP_TIMEOUT_S" "$(cat "$PID_FILE")" <<'EOF'
import json, os, sys, time, urllib.request
endpoint, timeout, pid = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
deadline = time.monotonic() + timeout
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit("LocalStack exited during start-up")
    try:
        with urllib.request.urlopen(f"{endpoint}/_localstack/health", timeout=2) as response:
            services = json.load(response)["services"]
        if all(services.get(s) in ("available", "running") for s in ("s3", "sqs", "kms")):
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.5)
sys.exit(f"LocalStack not healthy after {timeout:.0f} s")
EOF
}

start() {
  if is_running; then
    echo "LocalStack already running (pid $(cat "$PID_FILE"))." >&2
  else
    ensure_venv
    mkdir -p "$DATA"
    # Host mode: not in a container, gateway on loopback only, queue URLs that resolve without DNS,
    # no DNS server, no certificate download and no telemetry (there is no network to reach here).
    OVERRIDE_IN_DOCKER=0 \
    GATEWAY_LISTEN="127.0.0.1:$PORT" \
    LOCALSTACK_HOST="127.0.0.1:$PORT" \
    SQS_ENDPOINT_STRATEGY=path \
    SERVICES="${LOCALSTACK_SERVICES:-s3,sqs,kms,secretsmanager,sts,iam,logs,events}" \
    DNS_ADDRESS=0 \
    SKIP_SSL_CERT_DOWNLOAD=1 \
    DISABLE_EVENTS=1 \
    LOCALSTACK_VOLUME_DIR="$DATA/volume" \
    FILESYSTEM_ROOT="$DATA/filesystem" \
      nohup "$VENV/bin/python" -m localstack.runtime.main >"$LOG_FILE" 2>&1 &
    echo $! >"$PID_FILE"
    if ! wait_healthy; then
      tail -n 30 "$LOG_FILE" >&2
      stop
      exit 1
    fi
    echo "LocalStack $(cat "$PID_FILE") ready on $ENDPOINT (log: $LOG_FILE)." >&2
  fi
  "$VENV/bin/python" "$HERE/create_resources.py" --endpoint-url "$ENDPOINT" --stack-name "$STACK_NAME" \
    --env-file "$DATA/lamina.env"
  echo "Environment written to $DATA/lamina.env" >&2
}

case "${1:-}" in
  stop) stop ;;
  --detach) start ;;
  "")
    start
    trap stop EXIT INT TERM
    echo "Ctrl-C stops LocalStack." >&2
    wait "$(cat "$PID_FILE")" 2>/dev/null || true
    ;;
  *) echo "usage: $0 [--detach | stop]" >&2; exit 2 ;;
esac
