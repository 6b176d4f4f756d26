# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Request deadlines: a ``Watchdog`` per request shuts its sockets down when its time is up; one ``_Reaper``
thread per process expires them. ``_transport`` hooks the watchdog into urllib3's connections."""

from __future__ import annotations

import heapq
import itertools
import os
import socket
import threading
import time
from typing import Any, Dict, List, Optional, Tuple


class Watchdog:
    """The deadline of one request: ``timeout`` seconds after it starts, every socket the request uses is shut
    down, so that a read or write blocked on it returns at once. A socket's read timeout bounds each read only:
    a server trickling its status line, headers or body a byte at a time would hold the request for ever.

    The connections register themselves (``_transport._Watched``) from the thread sending the request. Each
    socket is watched through a duplicate of its descriptor (a TLS connection's socket changes during the
    handshake); ``stop`` closes them. One ``_Reaper`` thread serves every watchdog of the process.
    """

    def __init__(self, timeout: float) -> None:
        self.deadline = time.monotonic() + timeout
        self.expired = False
        self.stopped = False
        self._lock = threading.Lock()
        self._watched: Dict[int, socket.socket] = {}      # duplicates, by the watched descriptor
        _REAPER.add(self)

    def watch(self, sock: Any) -> None:
        """Watch ``sock`` (a socket or an SSL socket) until ``stop``; shut it down at once if the deadline passed."""
        try:
            fileno = sock.fileno()
            with self._lock:
                if self.stopped or fileno < 0 or fileno in self._watched:
                    return
                dup = socket.socket(fileno=os.dup(fileno))
                self._watched[fileno] = dup
                if self.expired:
                    _shut(dup)
        except OSError:
            pass

    def expire(self) -> None:
        """The deadline has passed: shut down every socket watched (the reaper calls it)."""
        with self._lock:
            if self.stopped:
                return
            self.expired = True
            for dup in self._watched.values():
                _shut(dup)

    def stop(self) -> None:
        """End the watch (the request is over); the duplicates are closed. Once it returns, ``expire`` does nothing."""
        with self._lock:
            self.stopped = True
            for dup in self._watched.values():
                dup.close()
            self._watched.clear()
        _REAPER.wake()


class _Reaper:
    """One thread that expires the watchdogs whose deadline has passed, in deadline order. It starts with the
    first request and ends once no request has been in flight for ``idle`` seconds: a thread per request would
    cost more than the rest of the request's handling on the client side."""

    def __init__(self, idle: float = 1.0) -> None:
        self.idle = idle
        self._count = itertools.count()
        self.reset()

    def reset(self) -> None:
        """Start empty, without a thread; also in a child process after a fork (Ansible forks its workers after the
        inventory plugin ran), where the parent's thread does not run and its lock may be held."""
        self._cond = threading.Condition()
        self._heap: List[Tuple[float, int, Watchdog]] = []
        self.thread: Optional[threading.Thread] = None

    def add(self, watchdog: Watchdog) -> None:
        with self._cond:
            heapq.heappush(self._heap, (watchdog.deadline, next(self._count), watchdog))
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="telphin.pbx request deadlines", daemon=True)
                self.thread.start()
            elif self._heap[0][2] is watchdog:
                self._cond.notify()

    def wake(self) -> None:
        """A watchdog stopped: let the thread drop it (and end when nothing is left)."""
        with self._cond:
            self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._heap[0][2].stopped:
                    heapq.heappop(self._heap)
                if not self._heap:
                    if not self._cond.wait(self.idle) and not self._heap:
                        self.thread = None
                        return
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)[2].expire()


_REAPER = _Reaper()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_REAPER.reset)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass                    # already closed by the other side
