#!/usr/bin/env bash
# Install cacofonisk with its test dependencies into .venv, install the
# system tools the tests need (graphviz's dot), and run the whole suite.
# This is the README's test command and exactly what .ci/run runs.
# It ends with how many tests were skipped and why (-rs lists each skip;
# tests/conftest.py adds one line per reason with its count): the tests of
# third-party recordings skip when ../shared is absent.
#
# The suite runs twice: on the pure-Python build, then on the optional
# mypyc-compiled core (CACOFONISK_MYPYC=1 pip install -e .), which compiles
# next to the sources; at the end the pure build is installed again (it
# removes the compiled modules). The compiled pass leaves out the tests
# that do not depend on the build (mypy's check of the sources, the bench
# scripts). Without a C compiler or the Python headers, or with
# CACOFONISK_SKIP_COMPILED=1, the compiled pass is skipped and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[testing]"
if [ -f scripts/install-system-deps.sh ]; then
    bash scripts/install-system-deps.sh
fi
export HYPOTHESIS_PROFILE="${HYPOTHESIS_PROFILE:-ci}"

run_suite() {  # run_suite BUILD [pytest args...]: the exit status of pytest
    local build="$1"
    shift
    echo "== test.sh: the suite on the $build build"
    set +e
    CACOFONISK_EXPECT_BUILD="$build" .venv/bin/python -m pytest -n 2 -p no:cacheprovider -rs "$@"
    local status=$?
    set -e
    # pytest exits 5 when it collected no test: that is a failure here too.
    return "$status"
}

status=0
run_suite pure "$@" || status=$?

if [ "${CACOFONISK_SKIP_COMPILED:-}" = 1 ]; then
    echo "== test.sh: compiled build skipped (CACOFONISK_SKIP_COMPILED=1)"
elif ! command -v cc >/dev/null 2>&1 && ! command -v gcc >/dev/null 2>&1; then
    echo "== test.sh: compiled build skipped: no C compiler (cc/gcc) on PATH"
elif ! .venv/bin/python -c 'import os, sys, sysconfig
sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))'; then
    echo "== test.sh: compiled build skipped: no Python headers (Python.h; Debian: python3-dev)"
else
    trap '.venv/bin/python -m pip install --quiet -e ".[testing]"' EXIT  # back to pure
    CACOFONISK_MYPYC=1 .venv/bin/python -m pip install --quiet -e ".[testing]"
    compiled=0
    run_suite compiled --ignore=tests/test_typing.py --ignore=tests/test_bench.py "$@" \
        || compiled=$?
    if [ "$status" -eq 0 ]; then
        status=$compiled
    fi
fi
exit "$status"
