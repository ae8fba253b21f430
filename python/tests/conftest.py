"""pytest fixtures for the micrograd_plus suite; helpers live in helpers.py."""
import numpy as np
import pytest


@pytest.fixture
def rng():
    """A private generator, so test data never disturbs NumPy's global RNG."""
    return np.random.default_rng(1234)


@pytest.fixture(autouse=True)
def _restore_global_rng_state():
    """Tests that seed NumPy's global RNG must not leak that state to others."""
    state = np.random.get_state()
    yield
    np.random.set_state(state)

