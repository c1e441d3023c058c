#!/usr/bin/env bash
# Set up a fresh machine for the test suite and run it (the README's second command).
# Installs: Debian's chromium (for the site's browser tests) when missing and apt-get is
# available, then dlterms with its test extra (torch pinned to the CPU build), then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium chromium-driver >/dev/null
fi

python -m pip install -q --disable-pip-version-check -e '.[test]'
python -m pytest "$@"
