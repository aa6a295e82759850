"""Shared pytest configuration: every test runs on the CPU, headless, seeded."""

import os

os.environ.setdefault("SEQCOURSE_DEVICE", "cpu")
os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: executes notebooks or runs nbgrader (tens of seconds)")
