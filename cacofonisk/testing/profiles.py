"""Hypothesis profiles for property tests of cacofonisk and of a user's dialplan.

Why here and not only in the project's ``tests/conftest.py``: a user who
follows docs/property-testing.md imports ``cacofonisk.testing.strategies``
from their own tests, with no conftest of ours; ``HYPOTHESIS_PROFILE=deep``
must work there too. Importing ``cacofonisk.testing.strategies`` (or this
module) registers the profiles and, when ``HYPOTHESIS_PROFILE`` names one of
them, loads it (a name it does not know is a warning: your own conftest may
register it). Without the variable hypothesis' own default stays.

Profiles:

* ``ci`` (60 examples, no deadline): the project's suite on two cores;
* ``dev`` (20 examples): quick runs while editing;
* ``deep`` (2000 examples): hunting, e.g. ``HYPOTHESIS_PROFILE=deep pytest
  examples/test_my_dialplan.py``.
"""
from __future__ import annotations

import os
import warnings

from hypothesis import HealthCheck, settings

#: The environment variable that picks a profile.
ENV = "HYPOTHESIS_PROFILE"

PROFILES: dict[str, settings] = {
    "ci": settings(max_examples=60, deadline=None, print_blob=True,
                   suppress_health_check=[HealthCheck.too_slow]),
    "dev": settings(max_examples=20, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow]),
    "deep": settings(max_examples=2000, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]),
}


def register() -> None:
    """Register every profile of ``PROFILES`` with hypothesis (idempotent)."""
    for name, profile in PROFILES.items():
        settings.register_profile(name, profile)


def load_from_environment(default: str | None = None, *, strict: bool = True) -> str | None:
    """Load the profile ``$HYPOTHESIS_PROFILE`` names (else ``default``, if given).

    Args:
        strict: raise for a name nobody registered; else warn and load nothing
            (at import time: the user's own conftest may register it later).

    Returns:
        The name of the profile loaded, or None when none was (or could be).

    Raises:
        ValueError: (``strict``) the name is not a registered profile: a typo
            would otherwise run the default number of examples unnoticed.
    """
    name = os.environ.get(ENV) or default
    if not name:
        return None
    try:
        settings.load_profile(name)
    except Exception as err:  # hypothesis raises InvalidArgument
        message = (f"{ENV}={name!r} is not a hypothesis profile; cacofonisk registers "
                   f"{', '.join(PROFILES)}")
        if strict:
            raise ValueError(message) from err
        warnings.warn(message, stacklevel=2)
        return None
    return name


register()
load_from_environment(strict=False)

__all__ = ["ENV", "PROFILES", "load_from_environment", "register"]
