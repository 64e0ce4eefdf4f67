#!/usr/bin/env bash
# Install cacofonisk with its test dependencies into .venv, install the
# system tools the tests need (graphviz's dot), and run the whole suite.
# This is the README's test command and exactly what .ci/run runs.
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
.venv/bin/python -m pytest -n 2 -p no:cacheprovider "$@"
status=$?
set -e
# pytest exits 5 when it collected no test: that is a failure here too.
exit "$status"
