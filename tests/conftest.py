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
