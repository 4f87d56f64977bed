"""Shared fixtures for the s2sad tests."""

import numpy as np
import pytest


@pytest.fixture
def rng():
    """A fresh generator per test, seeded: every run draws the same inputs."""
    return np.random.default_rng(0)
