"""Shared pytest configuration: every test runs on the CPU.

MPLBACKEND is deliberately left alone: notebook kernels then use the inline
backend, exactly as in JupyterLab, and this process has no display anyway.
"""

import os

import pytest

os.environ.setdefault("SEQCOURSE_DEVICE", "cpu")
# The suite runs one pytest worker per core, and each may start a notebook kernel: with
# torch's default of one OpenMP thread per core they spin against each other and a
# 20-second file takes ten minutes. One thread each (kernels inherit this) keeps them apart.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: executes notebooks or runs nbgrader (tens of seconds)")


@pytest.fixture(scope="module")
def one_torch_thread():
    """Train on one CPU thread, as the lectures do (reductions then sum in one order, so the
    printed numbers match on any core count), and restore the setting afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
