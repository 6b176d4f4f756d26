"""Reliability: a rollout with backups stopped the ways a controller really stops (issue 31).

The series is ``tests/reliability/killpoints.py`` (see its docstring for the ways, the points and the checks).
In CI it runs at a reduced size (2 tenants x 40 phones, every way at one point on the controller path, and the
main process's deaths on both paths); ``TELPHIN_RELIABILITY_FULL=1`` runs the published size (4 x 100, both
paths, every way at every point).
The figures go to ``tests/output/reliability/killpoints-{ci,full}.json`` for ``tests/reliability/report.py``.
"""

from __future__ import annotations

import pytest

from tests.reliability import killpoints
from tests.reliability.lib import FULL

TENANTS, PER_TENANT = (4, 100) if FULL else (2, 40)


@pytest.mark.parametrize("path", ["controller", "module"])
@pytest.mark.parametrize("way", ["kill-9", "sighup"])
def test_a_worker_whose_controller_died_alone_stops_writing_and_ends(tmp_path, path, way):
    """ansible-playbook killed alone at 15 % of the PUTs: its workers (and their module processes) used to send
    every remaining PUT and linger; now at most the requests in flight arrive, and nothing of the run is left."""
    figures = killpoints.run_point(way, "early", TENANTS, PER_TENANT, tmp_path, path, log=lambda *a: None)
    assert figures["violations"] == []
    assert figures["puts_after_exit"] <= figures["in_flight_bound"] == TENANTS * killpoints.PARALLEL
    assert figures["puts"] < TENANTS * PER_TENANT
    assert figures["processes_left"] == 0
    assert figures["changed"] == figures["changed_in_backup"] and figures["restored_exactly"]


def test_kill_point_series(tmp_path):
    """Every way of stopping: in CI at one point (early) on the controller path; at the published size at every
    point on both paths."""
    points = list(killpoints.POINTS) if FULL else ["early"]
    figures = killpoints.run_series(TENANTS, PER_TENANT, list(killpoints.WAYS), points, workdir=tmp_path,
                                    paths=("controller", "module") if FULL else ("controller",), log=lambda *a: None)
    killpoints.record("killpoints-%s" % ("full" if FULL else "ci"), figures)
    assert figures["violations"] == []
    stopped = {(p["path"], p["way"], p["point"]) for p in figures["points"] if p["changed"]}
    assert stopped >= {("controller", way, point) for way in killpoints.WAYS for point in points if point != "before-writes"}, \
        "a run was stopped before it wrote"
