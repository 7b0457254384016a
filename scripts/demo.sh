#!/usr/bin/env bash
# The README's first command, after the install and build: makes the demo repository and runs
# offsite on config/example.toml (a local-path target, no server needed): a sync, a second sync
# that finds nothing to do, then the status with the last result.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/make-demo-repository.sh /tmp/offsite-demo
offsite=build/src/offsite
config=config/example.toml
"$offsite" --config "$config" check-config
"$offsite" --config "$config" sync demo
"$offsite" --config "$config" sync demo
"$offsite" --config "$config" status
echo "The offsite copy is in /tmp/offsite-demo/offsite-disk/DemoSite (see docs/remote-format.md)."
