"""Shared pytest configuration."""
from __future__ import annotations

import os

# -- hypothesis profiles (tests/property) ---------------------------------------------
# ``ci`` (the default) keeps the whole property suite under two minutes on two
# cores; ``deep`` is for hunting: HYPOTHESIS_PROFILE=deep pytest tests/property.
try:
    from hypothesis import HealthCheck, settings
except ImportError:  # pragma: no cover - hypothesis is a test dependency
    pass
else:
    settings.register_profile(
        "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow],
        print_blob=True)
    settings.register_profile(
        "deep", max_examples=2000, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
# -- end of hypothesis profiles -------------------------------------------------------
