"""Unit tests never start a process: anything that tries fails loudly."""

from __future__ import annotations

import os
import subprocess

import pytest


class ProcessInUnitTest(AssertionError):
    pass


def _refuse(*args: object, **kwargs: object) -> None:
    raise ProcessInUnitTest(f"unit tests may not start processes: {args!r}")


@pytest.fixture(autouse=True)
def no_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(subprocess, "Popen", _refuse)
    monkeypatch.setattr(subprocess, "run", _refuse)
    monkeypatch.setattr(os, "fork", _refuse)
