#!/usr/bin/env bash
# The README's first command, after the install and build: makes the demo repository and runs
# offsite on config/example.toml (a local-path target, no server needed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/make-demo-repository.sh /tmp/offsite-demo
offsite=build/src/offsite
config=config/example.toml
"$offsite" --config "$config" check-config
"$offsite" --config "$config" status
