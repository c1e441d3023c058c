#!/usr/bin/env bash
# Set up a fresh machine for the test suite and run it (the README's second command).
#   1. Debian's chromium (the site's browser tests) and a CJK font (readable Chinese in
#      the screenshots), when missing and apt-get is available;
#   2. dlterms with its `test` extra (torch pinned to the 2.13.0 CPU build, jax,
#      tensorflow-cpu, mkdocs, playwright, sphinx, ...);
#   3. cffconvert without its dependencies: its metadata pins jsonschema<4, which the
#      report-schema tests (draft 2020-12) cannot use, and it runs fine with jsonschema 4;
#   4. pytest, with any arguments given to this script (tests/test_install.py also builds the
#      sdist and wheel and runs the core commands from the wheel alone in a fresh venv).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null
fi

python -m pip install -q --disable-pip-version-check -e '.[test]'
python -m pip install -q --disable-pip-version-check --no-deps 'cffconvert==2.0.0' 'pykwalify==1.8.0' docopt 'ruamel.yaml>=0.17' python-dateutil
python -m pytest "$@"
