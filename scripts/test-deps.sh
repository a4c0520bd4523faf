#!/usr/bin/env bash
# Installs the Debian packages whose programs the tests run, when any is missing: the
# real servers and clients of the interop tier (test/interop), which include the bench's
# (test/interop/bench.spec.ts), and nginx's stream module (an entry that is a path is a
# file to have, not a program). `npm test` runs this first. As root with apt-get it
# installs them without starting their services; otherwise it says what is missing and
# goes on, and each interop spec that needs them reports itself skipped (failed under
# CI=true).
#
#   scripts/test-deps.sh [--dry-run] [program:package ...]
#
# --dry-run prints the commands it would run instead. Arguments replace the list below.
set -euo pipefail

needs=(
  nginx:nginx redis-server:redis-server redis-cli:redis-tools redis-benchmark:redis-tools
  iperf3:iperf3 wrk:wrk curl:curl taskset:util-linux haproxy:haproxy openssl:openssl
  /usr/lib/nginx/modules/ngx_stream_module.so:libnginx-mod-stream
)
dry_run=false
if [ "${1:-}" = "--dry-run" ]; then
  dry_run=true
  shift
fi
if [ "$#" -gt 0 ]; then needs=("$@"); fi

programs=() missing=() packages=()
for need in "${needs[@]}"; do
  program=${need%%:*} package=${need#*:}
  programs+=("$program")
  # nginx is in /usr/sbin, which a non-root PATH may lack; a path (nginx's stream module) is a file to have
  if [[ $program == /* ]]; then
    [ -e "$program" ] && continue
  elif command -v "$program" >/dev/null 2>&1 || [ -x "/usr/local/sbin/$program" ] || [ -x "/usr/sbin/$program" ] || [ -x "/sbin/$program" ]; then
    continue
  fi
  missing+=("$program")
  case " ${packages[*]} " in *" $package "*) ;; *) packages+=("$package") ;; esac
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "test-deps: ${programs[*]} installed"
  exit 0
fi
echo "test-deps: missing ${missing[*]} (Debian packages: ${packages[*]})"
skipped="the interop tests that need them will be skipped (and fail under CI=true)"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "test-deps: no apt-get on this machine: install them yourself; until then $skipped"
  exit 0
fi
if [ "$EUID" -ne 0 ]; then
  echo "test-deps: not root: run 'sudo apt-get install ${packages[*]}' or npm test as root; until then $skipped"
  exit 0
fi

run() {
  if $dry_run; then echo "test-deps: would run: $*"; else "$@"; fi
}

# Keep the packages' services from starting: invoke-rc.d asks policy-rc.d first.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  run sh -c "printf '#!/bin/sh\nexit 101\n' >$policy && chmod 755 $policy"
  trap 'run rm -f "$policy"' EXIT
fi
if run env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}"; then
  if $dry_run; then echo "test-deps: dry run, nothing installed"; else echo "test-deps: installed ${packages[*]}"; fi
else
  echo "test-deps: apt-get failed: $skipped"
fi
