#!/usr/bin/env bash
# Starts the S3 test server (server.js) in the background on 127.0.0.1, HTTP and HTTPS on free
# ports, and waits until it listens. Usage: start.sh RUN_DIR [server.js options...]
# Writes into RUN_DIR: server.json (everything below as JSON), server.env (the same as shell
# assignments), pid, ca.pem (the test CA, for `ca_file`), access_key, secret_key (mode 600),
# data/ (the store), requests.log (one JSON line per request), server.out (stdout/stderr).
# Credentials: $S3_TEST_ACCESS_KEY / $S3_TEST_SECRET_KEY, else random ones. Bucket
# "offsite-test" exists (more with --bucket NAME). Stop it with stop.sh RUN_DIR (by its PID).
set -euo pipefail
if [ $# -lt 1 ]; then echo "usage: $0 RUN_DIR [server.js options]" >&2; exit 2; fi
run_dir=$(mkdir -p "$1" && cd "$1" && pwd)
shift
here=$(cd "$(dirname "$0")" && pwd)
command -v node >/dev/null || { echo "start.sh: node is not installed (scripts/install-deps.sh --tests)" >&2; exit 77; }

access_key=${S3_TEST_ACCESS_KEY:-OFFSITETEST$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F)}
umask 077
if [ -n "${S3_TEST_SECRET_KEY:-}" ]; then
  printf '%s\n' "$S3_TEST_SECRET_KEY" > "$run_dir/secret_key"
else
  # A secret with '/' and '+' as AWS's have, so that signing code meets them.
  head -c 30 /dev/urandom | base64 | tr -d '\n' > "$run_dir/secret_key"
fi
printf '%s\n' "$access_key" > "$run_dir/access_key"
rm -f "$run_dir/ready.json"

node "$here/server.js" --dir "$run_dir/data" --access-key "$access_key" \
  --secret-key-file "$run_dir/secret_key" --port 0 --https-port 0 --tls-dir "$run_dir/tls" \
  --bucket offsite-test --ready-file "$run_dir/ready.json" --log "$run_dir/requests.log" "$@" \
  >"$run_dir/server.out" 2>&1 &
pid=$!
echo "$pid" > "$run_dir/pid"
for _ in $(seq 1 200); do
  [ -s "$run_dir/ready.json" ] && break
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "start.sh: the server exited:" >&2; cat "$run_dir/server.out" >&2; exit 1
  fi
  sleep 0.05
done
[ -s "$run_dir/ready.json" ] || { echo "start.sh: the server did not start" >&2; kill "$pid"; exit 1; }
cp "$run_dir/tls/ca.pem" "$run_dir/ca.pem"

python3 - "$run_dir" <<'PY'
import json, os, sys
run_dir = sys.argv[1]
ready = json.load(open(os.path.join(run_dir, "ready.json")))
info = {
    "pid": ready["pid"],
    "http_port": ready["http_port"], "https_port": ready["https_port"],
    "endpoint": f"http://127.0.0.1:{ready['http_port']}",
    "https_endpoint": f"https://127.0.0.1:{ready['https_port']}",
    "ca_file": os.path.join(run_dir, "ca.pem"),
    "region": "us-east-1", "bucket": "offsite-test",
    "access_key": open(os.path.join(run_dir, "access_key")).read().strip(),
    "secret_key_file": os.path.join(run_dir, "secret_key"),
    "control": f"http://127.0.0.1:{ready['http_port']}/_offsite/",
    "data_dir": os.path.join(run_dir, "data"),
}
with open(os.path.join(run_dir, "server.json"), "w") as out:
    json.dump(info, out, indent=1)
with open(os.path.join(run_dir, "server.env"), "w") as out:
    for name, value in info.items():
        out.write(f"S3_{name.upper()}={value}\n")
print(json.dumps(info))
PY
