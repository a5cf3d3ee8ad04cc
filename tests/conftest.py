"""Hypothesis profiles for the property tests.

* ``default``: few examples, derandomized (the same examples on every run), no deadline, so
  the whole suite stays fast and CI is deterministic.
* ``thorough``: many more examples, fresh random ones each run:
  ``python -m pytest tests/test_properties.py --hypothesis-profile=thorough``
  (``--hypothesis-profile`` is hypothesis' own pytest option; it is applied after this file
  registers the profiles).
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

pytest_plugins = ["tests.system"]

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]

settings.register_profile(
    "default", max_examples=150, deadline=None, derandomize=True, print_blob=True,
    suppress_health_check=_QUIET,
)
settings.register_profile(
    "thorough", max_examples=5000, deadline=None, derandomize=False, print_blob=True,
    suppress_health_check=_QUIET,
)
settings.load_profile("default")
