#!/bin/sh
# meson install step: installs the configuration template as offsite.toml only if none exists,
# so an upgrade never overwrites an administrator's configuration.
set -eu
template=$1
target_dir="${DESTDIR:-}$2"
mkdir -p "$target_dir"
if [ ! -e "$target_dir/offsite.toml" ]; then
  install -m 0640 "$template" "$target_dir/offsite.toml"
  echo "Installed $target_dir/offsite.toml"
else
  echo "Kept the existing $target_dir/offsite.toml"
fi
