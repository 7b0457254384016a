# Helpers shared by the bench-*.sh scripts (sourced): timing, load notes, samples and their
# medians, and the Markdown table with its goal column.
# shellcheck shell=bash

# Reads every file of a tree into the page cache.
preread() { find "$1" -type f -print0 | xargs -0 -r cat >/dev/null; }
now_ns() { date +%s%N; }
seconds_since() { awk -v a="$1" -v b="$(now_ns)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
max_load=0
note_load() {
  local l
  l=$(cut -d' ' -f1 /proc/loadavg)
  max_load=$(awk -v a="$max_load" -v b="$l" 'BEGIN { print (b > a ? b : a) }')
  echo "== $* (load average $(load))"
}

declare -A samples=() # key -> space-separated values
record() { samples[$1]="${samples[$1]:-} $2"; }
median() {
  # shellcheck disable=SC2086
  printf '%s\n' ${samples[$1]} | sort -g | awk '{ a[NR] = $1 }
    END { if (NR % 2) printf "%.3f", a[(NR + 1) / 2]; else printf "%.3f", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
min_of() {
  # shellcheck disable=SC2086
  printf '%s\n' ${samples[$1]} | sort -g | head -n 1
}
maximum() {
  # shellcheck disable=SC2086
  printf '%s\n' ${samples[$1]} | sort -g | tail -n 1
}
tree_bytes() {
  find "$1" -path "$1/.offsite" -prune -o -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%.0f\n", s }'
}
mib_of_kib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# start_table FILE: the table's header; row appends to it and sets failed=1 for a goal not met.
# shellcheck disable=SC2034 # read by the scripts that source this file
failed=0
table=
start_table() {
  table=$1
  {
    echo "| measurement | reference | offsite | reference | ratio | goal | result |"
    echo "|---|---|---:|---:|---:|---|---|"
  } >"$table"
}
# row MEASUREMENT REFERENCE OFFSITE REF UNIT GOAL_RATIO ("" = for information)
# shellcheck disable=SC2034 # failed: read by the scripts that source this file
# row LABEL REFERENCE OURS THEIRS UNIT GOAL [RATIO]: RATIO, if given, instead of OURS / THEIRS
# (a median of paired ratios).
row() {
  local ratio result
  ratio=$(awk -v a="$3" -v b="$4" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
  [[ -n ${7:-} ]] && ratio=$(awk -v r="$7" 'BEGIN { printf "%.2f", r }')
  if [[ -z $6 ]]; then
    result=info
  elif awk -v r="$ratio" -v g="$6" 'BEGIN { exit !(r <= g) }'; then result=met; else
    result="**NOT MET**"
    failed=1
  fi
  printf '| %s | %s | %s %s | %s %s | %s | %s | %s |\n' "$1" "$2" "$3" "$5" "$4" "$5" "$ratio" \
    "${6:+<= ${6}x}" "$result" >>"$table"
}
