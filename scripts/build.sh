#!/usr/bin/env bash
# Configures (once) and builds offsite. Usage: scripts/build.sh [BUILD_DIR] [meson setup options...]
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build}
shift || true
if [ ! -f "$build_dir/build.ninja" ]; then
  meson setup "$build_dir" "$@"
fi
meson compile -C "$build_dir" -j "$(nproc)"
