#!/usr/bin/env bash
# Stops the S3 test server that start.sh started in RUN_DIR, by the PID it recorded.
# Usage: stop.sh RUN_DIR
set -u
pid_file="$1/pid"
[ -f "$pid_file" ] || exit 0
pid=$(cat "$pid_file")
if kill "$pid" 2>/dev/null; then
  # Gone, or a zombie that its new parent has not reaped yet (start.sh exited long ago).
  for _ in $(seq 1 100); do
    state=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null || echo gone)
    [[ $state == gone || $state == Z ]] && break
    sleep 0.05
  done
  kill -9 "$pid" 2>/dev/null || true
fi
rm -f "$pid_file"
