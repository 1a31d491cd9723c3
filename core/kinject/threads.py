"""How many threads torch uses: the physical cores this process may run on, set once.

torch sizes its thread pool from the machine's cores, which in a container or under a CPU quota
can be far more than the process gets; more threads than cores makes every parallel region
wait for threads that are not running. ``KINJECT_THREADS=N`` sets the count; a user's
``OMP_NUM_THREADS`` is left to torch.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

_configured: int | None = None


def available_cores() -> int:
    """Physical cores among the CPUs this process may use, bounded by a cgroup CPU quota."""
    cpus = (
        sorted(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else list(range(os.cpu_count() or 1))
    )
    cores = len({_core_of(cpu) for cpu in cpus}) or len(cpus)
    quota = _cgroup_quota()
    return max(1, min(cores, quota) if quota else cores)


def configure_threads() -> int | None:
    """Set torch's thread count once per process; returns it (None: left to the user's setting)."""
    global _configured
    if _configured is not None:
        return _configured
    wanted = os.environ.get("KINJECT_THREADS", "").strip()
    if not wanted and os.environ.get("OMP_NUM_THREADS"):
        return None
    import torch

    count = int(wanted) if wanted.isdigit() and int(wanted) > 0 else available_cores()
    if torch.get_num_threads() != count:
        torch.set_num_threads(count)
    _configured = count
    return count


def _core_of(cpu: int) -> tuple[str, str]:
    """(package, core) of a logical CPU: hyper-threads of one core share it."""
    topology = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
    try:
        return (topology / "physical_package_id").read_text().strip(), (
            topology / "core_id"
        ).read_text().strip()
    except OSError:
        return "", str(cpu)


def _cgroup_quota() -> int:
    """CPUs allowed by the cgroup (v2 ``cpu.max``, v1 ``cfs_quota_us``), rounded up; 0: none."""
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        return 0 if quota == "max" else math.ceil(int(quota) / int(period))
    except (OSError, ValueError):
        pass
    try:
        quota_us = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read_text())
        period_us = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text())
        return math.ceil(quota_us / period_us) if quota_us > 0 else 0
    except (OSError, ValueError):
        return 0
