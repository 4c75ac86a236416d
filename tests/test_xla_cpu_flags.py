"""The XLA:CPU option that importing `research` sets (research/__init__.py)."""

from __future__ import annotations

import importlib.metadata

import pytest

import research

FLAG = "--xla_cpu_experimental_ynn_fusion_type"


@pytest.fixture
def jaxlib_version(monkeypatch):
  """Pretends the installed jaxlib has the version the test sets."""
  version = {"value": "0.10.2"}
  monkeypatch.setattr(importlib.metadata, "version", lambda name: version["value"])
  return version


def test_adds_the_flag_to_existing_flags(monkeypatch, jaxlib_version):
  monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=8")
  research._keep_cpu_reductions_in_xla()
  assert research.os.environ["XLA_FLAGS"] == f"--xla_force_host_platform_device_count=8 {FLAG}=-reduce"


def test_sets_the_flag_when_there_are_none(monkeypatch, jaxlib_version):
  monkeypatch.delenv("XLA_FLAGS", raising=False)
  research._keep_cpu_reductions_in_xla()
  assert research.os.environ["XLA_FLAGS"] == f"{FLAG}=-reduce"


def test_keeps_the_users_choice(monkeypatch, jaxlib_version):
  monkeypatch.setenv("XLA_FLAGS", f"{FLAG}=+reduce")
  research._keep_cpu_reductions_in_xla()
  assert research.os.environ["XLA_FLAGS"] == f"{FLAG}=+reduce"


def test_leaves_unmeasured_jaxlib_versions_alone(monkeypatch, jaxlib_version):
  jaxlib_version["value"] = "0.9.0"
  monkeypatch.setenv("XLA_FLAGS", "")
  research._keep_cpu_reductions_in_xla()
  assert research.os.environ["XLA_FLAGS"] == ""


def test_this_process_runs_with_it():
  """With the pinned jaxlib (requirements.lock), importing research has set the flag in this process."""
  assert f"{FLAG}=" in research.os.environ["XLA_FLAGS"]
