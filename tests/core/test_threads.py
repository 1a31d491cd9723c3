"""torch's thread count: the cores this process may use, unless the user set it."""

from __future__ import annotations

import os

import pytest

from kinject import threads


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch):
    """A process where kinject has not set the thread count yet; torch's count restored after."""
    import torch

    before = torch.get_num_threads()
    monkeypatch.setattr(threads, "_configured", None)
    monkeypatch.delenv("KINJECT_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    yield torch
    torch.set_num_threads(before)


def test_available_cores_are_within_the_affinity_set():
    assert 1 <= threads.available_cores() <= len(os.sched_getaffinity(0))


def test_a_cgroup_quota_bounds_the_cores(monkeypatch):
    monkeypatch.setattr(threads, "_cgroup_quota", lambda: 1)
    assert threads.available_cores() == 1


def test_kinject_threads_wins_and_is_set_once(fresh, monkeypatch):
    monkeypatch.setenv("KINJECT_THREADS", "1")
    assert threads.configure_threads() == 1 and fresh.get_num_threads() == 1
    monkeypatch.setenv("KINJECT_THREADS", "2")
    assert threads.configure_threads() == 1  # once per process


def test_a_users_omp_setting_is_left_alone(fresh, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    fresh.set_num_threads(2)
    assert threads.configure_threads() is None and fresh.get_num_threads() == 2


def test_the_default_is_the_available_cores(fresh):
    assert threads.configure_threads() == threads.available_cores() == fresh.get_num_threads()
