# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Owner-only files that are on the disk when the call returns: backups and plans (``_safety`` names them).

A file is written whole to a fresh temporary file of its directory (``mkstemp``: 0600, a name nobody can plant),
flushed to the disk (``fsync``), and put in place: renamed over the path, or linked under the first free name
(never replacing a file). Then the directory is flushed too, so that the new name survives a power loss or a
crash of the machine: a backup is on the disk before the first write it protects. On a file system without
hard links (some network and container mounts) the free name is taken by an exclusive create instead.

Errors are ``OSError``; the caller says which file could not be written.
"""

from __future__ import annotations

import errno
import os
import tempfile
from typing import Callable, List, Optional

MAX_NUMBERED = 999          # names tried for a file that never replaces one: path, then <stem>.2<ext> ...
# os.link's answers on a file system (or mount) that has no hard links
NO_HARD_LINKS = frozenset({errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.ENOSYS, errno.EMLINK})
# fsync of a directory: answers of file systems that cannot (the entries are then as durable as they get there)
_DIRECTORY_SYNC_UNSUPPORTED = frozenset({errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EBADF, errno.EACCES})


class AllNamesTaken(OSError):
    """Every name a file that never replaces one may take exists already."""


def sync_directory(directory: str) -> None:
    """Flush ``directory``'s entries (a name just linked, renamed or removed) to the disk."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError as exc:
        if exc.errno in _DIRECTORY_SYNC_UNSUPPORTED:
            return
        raise
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in _DIRECTORY_SYNC_UNSUPPORTED:
            raise
    finally:
        os.close(fd)


def make_directories(directory: str) -> None:
    """``os.makedirs``, each directory it creates flushed into its parent."""
    missing: List[str] = []
    here = directory
    while not os.path.isdir(here):
        missing.append(here)
        parent = os.path.dirname(here)
        if parent == here:
            break
        here = parent
    os.makedirs(directory, exist_ok=True)
    for created in reversed(missing):
        sync_directory(os.path.dirname(created))


def _write_all(fd: int, data: bytes) -> None:
    """Write ``data`` to ``fd`` and flush it to the disk."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    os.fsync(fd)


def write_durably(path: str, text: str, replace: bool) -> str:
    """Write ``text`` to ``path`` (its directory exists) owner-only and on the disk; return the path written.

    ``replace``: rename over ``path`` (a link planted at it is replaced, never written through); else the first
    name of ``numbered(path)`` not taken, by a hard link of the temporary file or, where the file system has no
    hard links, by an exclusive create (``O_EXCL`` fails on any existing name, a link included)."""
    directory = os.path.dirname(path)
    data = text.encode("utf-8")
    fd, temp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".tmp", dir=directory)
    placed: Optional[str] = None
    try:
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)
        if replace:
            os.replace(temp, path)
            placed = path
        else:
            placed = _first_free(path, lambda name: os.link(temp, name), data)
    finally:
        if os.path.lexists(temp):
            os.unlink(temp)
    sync_directory(directory)
    return placed


def _first_free(path: str, link: Callable[[str], None], data: bytes) -> str:
    """Link the written file under the first free name of ``path``; without hard links, create it there."""
    has_links = True
    for candidate in numbered(path):
        try:
            if has_links:
                link(candidate)
            else:
                _create_exclusive(candidate, data)
            return candidate
        except FileExistsError:
            continue
        except OSError as exc:
            if not has_links or exc.errno not in NO_HARD_LINKS:
                raise
            has_links = False
            try:
                _create_exclusive(candidate, data)
                return candidate
            except FileExistsError:
                continue
    raise AllNamesTaken(errno.EEXIST, "it and %d numbered variants exist already" % (MAX_NUMBERED - 1))


def _create_exclusive(name: str, data: bytes) -> None:
    """Create ``name`` (it must not exist: ``O_EXCL``), 0600, with ``data`` on the disk; a partial file is removed."""
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        _write_all(fd, data)
    except BaseException:
        os.close(fd)
        os.unlink(name)
        raise
    os.close(fd)


def numbered(path: str) -> List[str]:
    """``path``, then ``<stem>.2<ext>`` up to ``<stem>.999<ext>``."""
    stem, ext = os.path.splitext(path)
    return [path] + ["%s.%d%s" % (stem, number, ext) for number in range(2, MAX_NUMBERED + 1)]
