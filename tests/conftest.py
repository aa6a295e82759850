"""Shared pytest configuration: every test runs on the CPU.

MPLBACKEND is deliberately left alone: notebook kernels then use the inline
backend, exactly as in JupyterLab, and this process has no display anyway.
"""

import os

os.environ.setdefault("SEQCOURSE_DEVICE", "cpu")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: executes notebooks or runs nbgrader (tens of seconds)")
