"""Device-service tests share the suite's fixtures (tests/conftest.py); these names stay importable
from here for the tests that import them."""

from tests.support import ScpiLink, hv_config

__all__ = ["ScpiLink", "hv_config"]
