"""The run's lifeline: no request once the controller waiting for the result is gone (issue 31)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from scripted import Call, ScriptedTransport, make_client, token

from ansible_collections.telphin.pbx.plugins.module_utils import _lifeline

LIFELINE_PY = _lifeline.__file__


class Exited(Exception):
    pass


@pytest.fixture(autouse=True)
def released(monkeypatch):
    """No lifeline held after a test, and no watching thread started in the test process (the real one is
    tested in a process of its own below)."""
    started = []
    monkeypatch.setattr(_lifeline, "_watch_parent", started.append)
    yield started
    _lifeline.release()


@pytest.fixture
def exits(monkeypatch):
    """``os._exit`` raising ``Exited`` (with the code) instead of ending the test process."""
    def fake_exit(code):
        raise Exited(code)
    monkeypatch.setattr(_lifeline.os, "_exit", fake_exit)


def test_nothing_held_nothing_checked(exits):
    _lifeline.check()
    assert not _lifeline.gone()


def test_a_worker_whose_parent_is_still_the_controller_goes_on(exits, released):
    _lifeline.hold_parent(os.getppid())
    _lifeline.check()
    assert not _lifeline.gone()
    assert released == [os.getppid()]          # and its parent is watched


def test_a_worker_whose_parent_changed_ends_without_a_word(exits, capsys):
    _lifeline.hold_parent(os.getppid() + 100000)     # the controller it was forked by is no longer its parent
    assert _lifeline.gone()
    with pytest.raises(Exited) as info:
        _lifeline.check()
    assert info.value.args == (_lifeline.EXIT_CODE,)
    assert capsys.readouterr() == ("", "")


def test_the_client_sends_no_request_once_the_controller_is_gone(exits):
    transport = ScriptedTransport(token(), Call("GET", "/user/@me/", reply={"id": 1}))
    client = make_client(transport)
    client.get("/user/@me/")
    transport.assert_done()
    _lifeline.hold_parent(os.getppid() + 100000)
    with pytest.raises(Exited):
        client.put("/extension/7/phone/", {"external_number": "+79876543210"})
    assert [c["method"] for c in transport.sent] == ["POST", "GET"]       # the PUT never left


@pytest.fixture(params=["pidfd", "proc"])
def watch(request, monkeypatch):
    """Both ways a module watches the processes: pidfds where there are, ``/proc`` reads elsewhere."""
    if request.param == "proc":
        monkeypatch.delattr(_lifeline.os, "pidfd_open", raising=False)
    elif not hasattr(os, "pidfd_open"):
        pytest.skip("no os.pidfd_open here")
    return request.param


def test_a_stamp_names_processes_of_this_machine_and_holds_them(exits, watch):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        stamp = _lifeline.stamp([os.getpid(), child.pid])
        assert stamp is not None
        _lifeline.hold_from_environment({_lifeline.ENVIRONMENT: stamp})
        _lifeline.check()
        child.kill()
        child.wait()
        with pytest.raises(Exited):
            _lifeline.check()
    finally:
        child.kill()
        child.wait()


@pytest.mark.parametrize("value", [
    "", "garbage", "1 2 3", "{{ lookup('pipe', 'id') }}",
    "00000000-0000-0000-0000-000000000000 4026531836 1:1",      # another machine's boot id
])
def test_a_stamp_from_elsewhere_holds_nothing(exits, value):
    _lifeline.hold_from_environment({_lifeline.ENVIRONMENT: value})
    assert not _lifeline.gone()
    _lifeline.check()


def test_a_stamp_of_this_machine_naming_a_process_not_running_stops_at_once(exits, watch):
    stamp = _lifeline.stamp([os.getpid()])
    boot, namespace, pair = stamp.split(" ")
    pid, start = pair.split(":")
    _lifeline.hold_from_environment({_lifeline.ENVIRONMENT: "%s %s %s:%d" % (boot, namespace, pid, int(start) + 1)})
    assert _lifeline.gone()        # the same PID started at another time: another process, the named one is gone


def test_start_time_of_a_zombie_or_missing_process_is_none():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while _lifeline.start_time(child.pid) is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _lifeline.start_time(child.pid) is None        # exited, not yet waited for: a zombie
    child.wait()
    assert _lifeline.start_time(child.pid) is None
    assert _lifeline.start_time(os.getpid()) is not None


GRANDCHILD = textwrap.dedent("""\
    import importlib.util, os, sys, time
    spec = importlib.util.spec_from_file_location("lifeline", %r)
    lifeline = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lifeline)
    mode = sys.argv[1]
    if os.fork():          # the middle process: its child is the one that checks; it waits to be killed
        time.sleep(120)
        os._exit(0)
    if mode in ("worker", "blocked"):
        lifeline.hold_parent(os.getppid())
    else:                  # the stamp an action plugin would pass, naming the controller (here: the middle process)
        lifeline.hold_from_environment({lifeline.ENVIRONMENT: lifeline.stamp([os.getppid()])})
    with open(sys.argv[2], "w") as out:
        out.write(str(os.getpid()))
    while True:            # a request every 20 ms; "blocked": none (a worker stuck writing to a dead controller)
        if mode != "blocked":
            lifeline.check()
        time.sleep(0.02)
    """) % LIFELINE_PY


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the lifeline uses /proc")
@pytest.mark.parametrize("mode", ["worker", "module", "blocked"])
def test_a_process_whose_controller_is_killed_alone_ends(tmp_path, mode):
    """The middle process stands for ansible-playbook; killed with SIGKILL, its child (the worker, or a module
    process holding the lifeline the action plugin named) ends at its next check instead of running on; a
    worker that sends nothing more ends all the same (its watching thread)."""
    pid_file = tmp_path / "pid"
    middle = subprocess.Popen([sys.executable, "-c", GRANDCHILD, mode, str(pid_file)])
    try:
        deadline = time.monotonic() + 10
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() < deadline
            time.sleep(0.02)
        child = int(pid_file.read_text())
        time.sleep(0.3)
        assert _lifeline.start_time(child) is not None, "it ran on while its controller lived"
    finally:
        middle.send_signal(signal.SIGKILL)
        middle.wait()
    deadline = time.monotonic() + 5
    while _lifeline.start_time(child) is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _lifeline.start_time(child) is None, "it ran on after its controller was killed"


def test_the_clients_threads_check_the_lifeline_at_once(exits, watch):
    """The bulk client's workers (``parallel``) check before each request, at the same time: a poll object refuses
    a concurrent ``poll()`` (RuntimeError, which failed phones of module-path runs)."""
    _lifeline.hold_from_environment({_lifeline.ENVIRONMENT: _lifeline.stamp([os.getpid()])})
    errors = []
    start = threading.Barrier(8)

    def checks():
        start.wait()
        try:
            for _round in range(3000):
                _lifeline.check()
        except Exception as exc:  # pylint: disable=broad-except
            errors.append(repr(exc))

    threads = [threading.Thread(target=checks) for _thread in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
