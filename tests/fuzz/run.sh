#!/bin/sh
# `make fuzz`: run every libFuzzer target for a bounded time each, growing
# its corpus in a scratch copy; crashes are written to tests/fuzz/<name>/
# as crash-* files, to be added to the corpus as regression inputs.
set -e
BUILD="$1"
SECONDS_EACH="${2:-60}"
HERE="$(cd "$(dirname "$0")" && pwd)"
status=0
for dir in "$HERE"/*/; do
  name=$(basename "$dir")
  bin="$BUILD/tests/fuzz/$name/fuzz_$name"
  [ -x "$bin" ] || continue
  work=$(mktemp -d)
  cp "$dir"/corpus/* "$work"/ 2>/dev/null || true
  dict=""
  [ -f "$dir/$name.dict" ] && dict="-dict=$dir/$name.dict"
  echo "fuzz: $name for ${SECONDS_EACH}s"
  if ! "$bin" -max_total_time="$SECONDS_EACH" -print_final_stats=1 -artifact_prefix="$dir/crash-" $dict "$work" 2>&1 | tail -5; then
    echo "fuzz: $name found a crash; see $dir/crash-*"
    status=1
  fi
  rm -rf "$work"
done
exit $status
