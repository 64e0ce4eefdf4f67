#!/bin/sh
# Regenerate the simulated scenario files in scenarios/ (one event log and one
# .expected.json per flow and dialect) from cacofonisk.testing.scenarios.
# tests/test_scenarios.py fails when the checked-in files differ from what
# this writes, so run it after changing the simulator and review the diff.
set -eu
cd "$(dirname "$0")/.."
rm -f scenarios/ami1/*.json scenarios/ami2/*.json
python -m cacofonisk scenario --all scenarios
