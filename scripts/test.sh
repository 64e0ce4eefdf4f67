#!/usr/bin/env bash
# Install cacofonisk with its test dependencies into .venv, install the
# system tools the tests need (graphviz's dot), and run the whole suite.
# This is the README's test command and exactly what .ci/run runs.
# It ends with how many tests were skipped and why (-rs lists each skip;
# tests/conftest.py adds one line per reason with its count): the tests of
# third-party recordings skip when ../shared is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[testing]"
if [ -f scripts/install-system-deps.sh ]; then
    bash scripts/install-system-deps.sh
fi
export HYPOTHESIS_PROFILE="${HYPOTHESIS_PROFILE:-ci}"
set +e
.venv/bin/python -m pytest -n 2 -p no:cacheprovider -rs "$@"
status=$?
set -e
# pytest exits 5 when it collected no test: that is a failure here too.
exit "$status"
