"""Shared pytest configuration."""
from __future__ import annotations

# -- hypothesis profiles (tests/property) ---------------------------------------------
# The profiles (``ci``, ``dev``, ``deep``) live in cacofonisk.testing.profiles, so
# that a user's own property tests get them too. ``ci`` is the suite's default;
# ``deep`` is for hunting: HYPOTHESIS_PROFILE=deep pytest tests/property.
try:
    from cacofonisk.testing import profiles
except ImportError:  # pragma: no cover - hypothesis is a test dependency
    pass
else:
    profiles.load_from_environment(default="ci")
# -- end of hypothesis profiles -------------------------------------------------------


# -- what was skipped, and why ----------------------------------------------------------
# A run from a clone without ../shared skips the tests of third-party recordings;
# the last lines must say so plainly (how many, for which reason), not leave a
# row of "s" that looks green.

def _skip_reason(report: object) -> str:
    longrepr = getattr(report, "longrepr", None)
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return str(reason).removeprefix("Skipped: ")


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # type: ignore[no-untyped-def]
    """One line per skip reason with its count, after pytest's own summary."""
    skipped = [r for r in terminalreporter.stats.get("skipped", [])
               if getattr(r, "when", "") in ("setup", "call")]
    if not skipped:
        return
    reasons: dict[str, int] = {}
    for report in skipped:
        reason = _skip_reason(report)
        reasons[reason] = reasons.get(reason, 0) + 1
    terminalreporter.write_sep("=", f"{len(skipped)} test(s) SKIPPED, and why", yellow=True,
                               bold=True)
    for reason, count in sorted(reasons.items(), key=lambda item: -item[1]):
        terminalreporter.write_line(f"{count:5} skipped: {reason}")
