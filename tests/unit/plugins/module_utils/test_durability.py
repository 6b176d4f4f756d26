"""Backups and plans on the disk before they count (issue 31 items 2 and 3), every HTTP call scripted.

The os calls that make a file durable (``fsync`` of the file and of its directory, the link or rename that puts it
in place) are recorded with the requests the scripted transport receives, in one list: the backup and its
directory are flushed before the first PUT it protects, a plan before the run reports it written. On a file system
without hard links the backup is created exclusively instead, never replacing a file.
(tests/integration/test_safety.py traces the same order in the system calls of a real ansible-playbook run.)
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any, List, Tuple

import pytest

from ansible_collections.telphin.pbx.plugins.module_utils._bulk import run_extension_phones
from ansible_collections.telphin.pbx.plugins.module_utils._safety import SafetyError, write_private
from scripted import ScriptedTransport, make_client, token
from tests import unsafe_yaml
from ansible_collections.telphin.pbx.tests.unit.plugins.module_utils.test_bulk_safety import LIST, get, put

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="names an fd through /proc/self/fd")
NO_LINKS = sorted({errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.ENOSYS, errno.EMLINK})


class Recorder:
    """The durability calls of os and the requests sent, in the order they happened."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, link_errno: int = 0) -> None:
        self.events: List[Tuple[str, ...]] = []
        real_fsync, real_link, real_replace = os.fsync, os.link, os.replace

        def fsync(fd: int) -> None:
            self.events.append(("fsync", os.readlink("/proc/self/fd/%d" % fd)))
            real_fsync(fd)

        def link(src: str, dst: str, **kw: Any) -> None:
            if link_errno:
                self.events.append(("link refused", str(dst)))
                raise OSError(link_errno, os.strerror(link_errno))
            real_link(src, dst, **kw)
            self.events.append(("link", str(src), str(dst)))

        def replace(src: str, dst: str, **kw: Any) -> None:
            real_replace(src, dst, **kw)
            self.events.append(("replace", str(src), str(dst)))

        monkeypatch.setattr(os, "fsync", fsync)
        monkeypatch.setattr(os, "link", link)
        monkeypatch.setattr(os, "replace", replace)

    def transport(self, *calls: Any) -> ScriptedTransport:
        recorder = self

        class Recording(ScriptedTransport):
            def send(self, method: str, url: str, **kw: Any) -> Any:
                recorder.events.append(("send", method, url))
                return super().send(method, url, **kw)

        return Recording(*calls)

    def index(self, *event: str) -> int:
        return self.events.index(tuple(event))

    def first(self, kind: str, method: str = "") -> int:
        return next(n for n, e in enumerate(self.events) if e[0] == kind and (not method or e[1] == method))


def bulk(recorder: Recorder, calls: List[Any], check_mode: bool = False, **params: Any) -> dict:
    transport = recorder.transport(*calls)
    client = make_client(transport)
    result = run_extension_phones(client, dict(params, parallel=1), check_mode, client.secrets.add, lambda w: None)
    transport.assert_done()
    return result


BINDINGS = [{"extension": "100", "label": "Sales"}, {"extension": "101", "label": "Support"}]


@pytest.mark.parametrize("link_errno", [0, errno.EPERM], ids=["hard-links", "no-hard-links"])
def test_the_backup_and_its_directory_reach_the_disk_before_the_first_put(monkeypatch, tmp_path, link_errno):
    recorder = Recorder(monkeypatch, link_errno)
    backups = tmp_path / "new" / "backups"            # created by the run: its entry in new/ is flushed too
    result = bulk(recorder, [token(), *LIST, get(54), get(55), put(54, {"label": "Sales"}),
                             put(55, {"label": "Support"})],
                  bindings=BINDINGS, max_changes=2, backup=True, backup_options={"dir_path": str(backups)})
    path = result["backup_path"]
    assert Path(path).parent == backups and unsafe_yaml.load(Path(path).read_text())["phone_bindings"] == [
        {"extension": "000*100", "label": "Desk"}, {"extension": "000*101", "label": "Desk"}]
    first_put = recorder.first("send", "PUT")
    flushed_dir = recorder.index("fsync", str(backups))
    if link_errno:      # created under its name, written and flushed there
        in_place = recorder.index("link refused", path)
        flushed_file = recorder.index("fsync", path)
    else:               # a temporary file flushed, then linked under the name
        [(_kind, temp, _path)] = [e for e in recorder.events if e[0] == "link"]
        in_place = recorder.index("link", temp, path)
        flushed_file = recorder.index("fsync", temp)
        assert flushed_file < in_place
    assert in_place < flushed_dir < first_put and flushed_file < first_put
    assert recorder.index("fsync", str(backups.parent)) < first_put         # the new directory's entry
    assert sorted(os.listdir(backups)) == [os.path.basename(path)]          # no temporary file left


def test_a_plan_reaches_the_disk_before_it_is_reported_written(monkeypatch, tmp_path):
    recorder = Recorder(monkeypatch)
    path = tmp_path / "t1.plan.json"
    result = bulk(recorder, [token(), *LIST, get(54), get(55)], check_mode=True, bindings=BINDINGS,
                  plan_path=str(path))
    assert result["plan_path"] == str(path) and json.loads(path.read_text())["changes"]
    [(_kind, temp, _path)] = [e for e in recorder.events if e[0] == "replace"]
    assert recorder.index("fsync", temp) < recorder.index("replace", temp, str(path)) < \
        recorder.index("fsync", str(tmp_path)) == len(recorder.events) - 1      # nothing after it: then reported


@pytest.mark.parametrize("link_errno", NO_LINKS, ids=[errno.errorcode[e] for e in NO_LINKS])
def test_without_hard_links_a_backup_is_created_exclusively_and_never_replaces_a_file(monkeypatch, tmp_path,
                                                                                      link_errno):
    recorder = Recorder(monkeypatch, link_errno)
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    os.symlink(str(victim), str(tmp_path / "b.3.yml"))       # planted at a name the fallback will try
    paths = [write_private(str(tmp_path / "b.yml"), "%s\n" % n, replace=False) for n in ("one", "two", "three")]
    assert paths == [str(tmp_path / n) for n in ("b.yml", "b.2.yml", "b.4.yml")]
    assert [Path(p).read_text() for p in paths] == ["one\n", "two\n", "three\n"]
    assert victim.read_text() == "precious\n" and os.path.islink(str(tmp_path / "b.3.yml"))
    assert all(oct(os.stat(p).st_mode & 0o777) == "0o600" for p in paths)
    assert sorted(os.listdir(tmp_path)) == ["b.2.yml", "b.3.yml", "b.4.yml", "b.yml", "victim"]    # no temporary
    for path in paths:
        assert recorder.index("fsync", path) < recorder.events.index(("fsync", str(tmp_path)),
                                                                     recorder.index("fsync", path))


def test_a_link_refused_for_another_reason_fails_the_backup(monkeypatch, tmp_path):
    Recorder(monkeypatch, errno.EACCES)
    with pytest.raises(SafetyError, match=r"cannot write .*b\.yml: Permission denied"):
        write_private(str(tmp_path / "b.yml"), "one\n", replace=False)
    assert os.listdir(tmp_path) == []


def test_a_backup_that_cannot_reach_the_disk_fails_before_any_put(monkeypatch, tmp_path):
    """fsync failing (an I/O error of the disk) fails the task before the writes: the backup is not there."""
    def broken(fd: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(os, "fsync", broken)
    transport = ScriptedTransport(token(), *LIST, get(54), get(55))
    client = make_client(transport)
    with pytest.raises(SafetyError, match="cannot write .*: Input/output error"):
        run_extension_phones(client, {"bindings": BINDINGS, "max_changes": 2, "backup": True, "parallel": 1,
                                      "backup_options": {"dir_path": str(tmp_path)}}, False, client.secrets.add,
                             lambda w: None)
    transport.assert_done()
    assert os.listdir(tmp_path) == []
