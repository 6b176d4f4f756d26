# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The run's lifeline: no request is sent once the Ansible controller waiting for this run's result is gone.

Ansible's workers outlive their main process (``ansible-playbook`` killed alone: ``kill -9``, the OOM killer,
a lost terminal's SIGHUP; from ansible-core 2.19 on they even run in sessions of their own), and a module
process outlives its worker the same way. Their writes would then reach the PBX with nobody to see the
results. ``ApiClient`` calls ``check`` before it sends each request: once the controller is gone, the process
ends at once (``os._exit``), reporting nothing; only requests already sent by other threads may still arrive.
A worker also ends by itself once its controller is gone, whatever it is doing then (``hold_parent``).

- In a worker (the action plugins, ``hold_parent``): the controller is the worker's parent; a process whose
  parent dies gets a new one (init or a subreaper), so ``os.getppid()`` tells, one system call per request.
- In a module process on the same machine (``hold_from_environment``): the action plugin names its worker
  and the controller in ``ENVIRONMENT`` (``stamp``: boot id, PID namespace, PID and start time of each);
  before each request the module checks both still run. A module on another machine or in another PID
  namespace, or run with ``async`` (meant to outlive the play), holds no lifeline.

Linux only (``/proc``); elsewhere nothing is held and nothing is checked.
"""

from __future__ import annotations

import os
import re
import select
import threading
import time
from typing import Callable, List, Mapping, Optional, Tuple

ENVIRONMENT = "TELPHIN_PBX_LIFELINE"
EXIT_CODE = 75              # EX_TEMPFAIL: the process ended itself because its controller is gone
_STAMP = re.compile(r"^([0-9a-f-]{1,64}) ([0-9]{1,20}) ((?:[0-9]{1,10}:[0-9]{1,20} ?){1,4})$")

_alive: Optional[Callable[[], bool]] = None


def check() -> None:
    """End this process, reporting nothing, when the controller of this run is gone (no-op when none is held)."""
    if _alive is not None and not _alive():
        os._exit(EXIT_CODE)


def gone() -> bool:
    """Whether the controller of this run is known to be gone."""
    return _alive is not None and not _alive()


def hold_parent(controller: int) -> None:
    """This process is a worker whose parent ``controller`` waits for its result: check the parent is still it
    before each request, and end the process once it is gone whatever the process is doing (a worker reporting
    to a dead controller blocks for ever on the full pipe of Ansible's result queue)."""
    global _alive  # pylint: disable=global-statement

    def alive() -> bool:
        return os.getppid() == controller
    if _alive is None:
        _watch_parent(controller)
    _alive = alive


def _watch_parent(controller: int) -> None:
    """A daemon thread that ends this process once ``controller`` (its parent) has ended: waiting on a pidfd of
    it where there is one, else looking at the parent every half second."""
    try:
        fd: Optional[int] = os.pidfd_open(controller)
    except (AttributeError, OSError):
        fd = None
    if os.getppid() != controller:     # gone before (or while) the pidfd was opened
        os._exit(EXIT_CODE)

    def watch() -> None:
        if fd is not None:
            select.select([fd], [], [])
        else:
            while os.getppid() == controller:
                time.sleep(0.5)
        os._exit(EXIT_CODE)
    threading.Thread(target=watch, name="telphin.pbx lifeline", daemon=True).start()


def release() -> None:
    """Hold no lifeline (tests)."""
    global _alive  # pylint: disable=global-statement
    _alive = None


def start_time(pid: int) -> Optional[int]:
    """The start time (clock ticks after boot) of the running process ``pid``; None if it is not running
    (gone, a zombie, or ``/proc`` unreadable)."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as stat:
            data = stat.read()
    except OSError:
        return None
    fields = data[data.rfind(b")") + 2:].split()     # after "pid (comm)": state is field 3, starttime field 22
    if len(fields) < 20 or fields[0] in (b"Z", b"X"):
        return None
    return int(fields[19])


def _machine() -> Optional[Tuple[str, str]]:
    """This machine's boot id and this process's PID namespace (what makes a PID meaningful here)."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as boot:
            boot_id = boot.read().strip()
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        return None
    match = re.search(r"\[([0-9]+)\]", namespace)
    return (boot_id, match.group(1)) if match else None


def stamp(pids: List[int]) -> Optional[str]:
    """``ENVIRONMENT``'s value naming the running processes ``pids``, or None where it cannot (not Linux)."""
    machine = _machine()
    starts = {pid: start_time(pid) for pid in pids}
    if machine is None or None in starts.values():
        return None
    return "%s %s %s" % (machine[0], machine[1], " ".join("%d:%d" % pair for pair in starts.items()))


def hold_from_environment(environ: Mapping[str, str]) -> None:
    """A module process: hold the lifeline ``ENVIRONMENT`` names, if it names processes of this machine and PID
    namespace. A value from elsewhere (another host, a container, a hand-set variable) is only data: it arms
    nothing unless it matches this machine, and then only names processes whose end stops this run."""
    global _alive  # pylint: disable=global-statement
    match = _STAMP.match(environ.get(ENVIRONMENT, ""))
    if not match or _machine() != (match.group(1), match.group(2)):
        return
    watched = [(int(pid), int(start)) for pid, start in (p.split(":") for p in match.group(3).split())]
    _alive = _pidfd_watch(watched) or _proc_watch(watched)


def _proc_watch(watched: List[Tuple[int, int]]) -> Callable[[], bool]:
    """Alive while every (pid, start time) still runs, read from ``/proc`` at each check."""
    def alive() -> bool:
        return all(start_time(pid) == start for pid, start in watched)
    return alive


def _pidfd_watch(watched: List[Tuple[int, int]]) -> Optional[Callable[[], bool]]:
    """The same with one ``poll`` system call per check: a pidfd of each process turns readable when it ends
    (Linux 5.3+, Python 3.9+; None where there is none). A pidfd opened on a PID names the process that had it
    then: the start time read after it was opened tells that this is the process named."""
    fds: List[int] = []
    try:
        for pid, _start in watched:
            fds.append(os.pidfd_open(pid))
    except (AttributeError, OSError):
        for fd in fds:
            os.close(fd)
        return None
    if not all(start_time(pid) == start for pid, start in watched):
        return lambda: False        # one of them is gone already
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    lock = threading.Lock()     # a poll object refuses concurrent poll() calls; the client's threads share it

    def alive() -> bool:
        with lock:
            return not poller.poll(0)
    return alive
