#!/usr/bin/env bash
# Fresh-machine check: clone this repository into a temporary folder, make a new virtual
# environment there and run the README's two commands in it (`make demo`, then the tests exactly
# as CI runs them), timing each. What is checked is the committed HEAD, not the working tree.
#
#   scripts/fresh-check.sh          (or: make fresh-check)
#   FRESH_DIR=/path                 work there instead of a new temporary folder (kept afterwards)
#   SKIP_DEMO=1                     run only the tests
#   FRESH_PYTHON=python3.12         the interpreter the virtual environment is made from
#
# Exits non-zero when either command failed. A temporary folder is removed when both passed and
# kept (with each command's log) when one failed.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
python="${FRESH_PYTHON:-python3}"
work="${FRESH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/kinject-fresh.XXXXXX")}"
clone="$work/kinject"

if [ -e "$clone" ]; then
  echo "fresh-check: $clone already exists; remove it or set FRESH_DIR to another folder" >&2
  exit 2
fi
mkdir -p "$work"
git clone -q "$root" "$clone"
cd "$clone"
"$python" -m venv .venv
# The caller's make and Python settings must not leak in: a fresh machine has none of them
# (an exported PYTHON would make the clone's Makefile install into the caller's interpreter).
unset PYTHON PYTHONPATH MAKEFLAGS MFLAGS MAKELEVEL
set +u  # activate reads variables that may be unset
# shellcheck disable=SC1091
source .venv/bin/activate
set -u

names=()
codes=()
seconds=()

# run_timed NAME COMMAND...: run it with its output shown and logged; record exit status and time.
run_timed() {
  local name=$1 start code=0
  shift
  start=$(date +%s)
  echo "== $name"
  "$@" 2>&1 | tee "$work/$(echo "$name" | tr -c 'a-zA-Z0-9\n' '-').log" || code=$?
  names+=("$name")
  codes+=("$code")
  seconds+=("$(($(date +%s) - start))")
}

if [ "${SKIP_DEMO:-0}" != 1 ]; then
  run_timed "make demo" make demo
fi
run_timed "CI=true bash .ci/run" env CI=true bash .ci/run

failed=0
echo
printf '%-24s %5s %13s\n' "command" "exit" "wall seconds"
for i in "${!names[@]}"; do
  printf '%-24s %5s %13s\n' "${names[$i]}" "${codes[$i]}" "${seconds[$i]}"
  [ "${codes[$i]}" = 0 ] || failed=1
done

if [ "$failed" = 1 ]; then
  echo "fresh-check: failed; the clone and logs are in $work" >&2
  exit 1
fi
if [ -z "${FRESH_DIR:-}" ]; then
  cd /
  rm -rf "$work"
fi
