#!/bin/sh
# Regenerate the simulated scenario files in scenarios/ (one event log and one
# .expected.json per flow and dialect) from cacofonisk.testing.scenarios.
# tests/test_scenarios.py fails when the checked-in files differ from what
# this writes, so run it after changing the simulator and review the diff.
#
# The files are written to a temporary folder first and replace the old ones
# only once every flow of every dialect was written: a failure (no cacofonisk
# installed for this python, a broken simulator) leaves scenarios/ untouched.
# PYTHON picks the interpreter (default: .venv/bin/python, else python3).
set -eu
cd "$(dirname "$0")/.."
if [ -z "${PYTHON:-}" ]; then
    if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
new="$(mktemp -d scenarios.new.XXXXXX)"
trap 'rm -rf "$new"' EXIT
if ! "$PYTHON" -m cacofonisk scenario --all "$new" 2>"$new/errors"; then
    echo "regenerate-scenarios: $PYTHON -m cacofonisk scenario --all failed;" \
         "scenarios/ is unchanged:" >&2
    cat "$new/errors" >&2
    exit 1
fi
for dialect in ami1 ami2; do
    if ! ls "$new/$dialect"/*.expected.json >/dev/null 2>&1; then
        echo "regenerate-scenarios: nothing written for $dialect; scenarios/ is unchanged" >&2
        exit 1
    fi
done
for dialect in ami1 ami2; do
    mkdir -p "scenarios/$dialect"
    rm -f "scenarios/$dialect"/*.json
    mv "$new/$dialect"/*.json "scenarios/$dialect/"
done
echo "regenerate-scenarios: wrote $(ls scenarios/ami1/*.json scenarios/ami2/*.json | wc -l) files"
