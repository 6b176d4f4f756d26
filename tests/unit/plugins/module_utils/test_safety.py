"""Change safety helpers: max_changes, the guard's message, the backup file and the plan document."""

from __future__ import annotations

import datetime
import json
import os

import pytest

from ansible_collections.telphin.pbx.plugins.module_utils import _safety
from ansible_collections.telphin.pbx.plugins.module_utils._safety import (
    PLAN_FORMAT, ChangeLimit, SafetyError, backup_path, backup_text, fingerprint, guard_refusal, load_plan,
    parse_max_changes, plan_document, write_backup, write_private)
from ansible_collections.telphin.pbx.plugins.module_utils._words import ROLE
from tests import unsafe_yaml

WHEN = datetime.datetime(2026, 11, 29, 18, 0, 5)


@pytest.mark.parametrize("value, limit", [
    (None, None), ("", None), (0, ChangeLimit(count=0)), (10, ChangeLimit(count=10)), ("7", ChangeLimit(count=7)),
    ("20%", ChangeLimit(percent=20.0)), (" 12.5 % ", ChangeLimit(percent=12.5)), ("100%", ChangeLimit(percent=100.0)),
])
def test_max_changes_forms(value, limit):
    assert parse_max_changes(value) == limit


@pytest.mark.parametrize("value", [-1, True, "lots", "101%", "-5%", "5.5", 2.5, [3]])
def test_bad_max_changes_are_refused(value):
    with pytest.raises(SafetyError, match="is not a limit"):
        parse_max_changes(value)


@pytest.mark.parametrize("percent, phones, allowed", [(20, 10, 2), (20, 11, 3), (0, 50, 0), (100, 7, 7), (20, 30, 6),
                                                      (12.5, 24, 3)])
def test_a_percentage_is_of_the_phone_extensions_rounded_up(percent, phones, allowed):
    assert ChangeLimit(percent=percent).allowed(phones) == allowed


@pytest.mark.parametrize("percent, phones", [(20, 3), (20, 4), (12.5, 8), (50, 0), (1, 150)])
def test_a_percentage_allows_at_least_two_phones(percent, phones):
    # 20% of a 3-phone tenant is 1: an hourly run binding two new staff members would be refused
    assert ChangeLimit(percent=percent).allowed(phones) == 2
    assert ChangeLimit(count=1).allowed(phones) == 1        # a count is exact
    assert ChangeLimit(percent=0).allowed(phones) == 0       # 0% still allows nothing


def test_small_tenants_two_changes_pass_three_are_refused():
    assert guard_refusal(ChangeLimit(percent=20), 3, changes(2)) is None
    msg = guard_refusal(ChangeLimit(percent=20), 3, changes(3))
    assert "above max_changes 20% of 3 phone extension(s) = 2 (a share allows at least 2)." in msg


def changes(count):
    return [("000*%d" % (100 + i), {"external_number": "+7900000000%d" % i}, {"external_number": None})
            for i in range(count)]


def test_guard_passes_at_the_limit_and_without_one():
    assert guard_refusal(None, 10, changes(10)) is None
    assert guard_refusal(ChangeLimit(count=3), 10, changes(3)) is None
    assert guard_refusal(ChangeLimit(percent=20), 10, changes(2)) is None


def test_guard_refusal_counts_and_names_the_first_five():
    msg = guard_refusal(ChangeLimit(percent=20), 10, changes(8))
    assert msg.startswith("refused by the blast-radius guard, nothing was written: this run would change 8 phone(s), "
                          "above max_changes 20% of 10 phone extension(s) = 2.")
    assert '- 000*100: external_number "+79000000000" -> null' in msg
    assert "000*104" in msg and "000*105" not in msg and msg.endswith("- ... and 3 more")
    assert "above max_changes 0." in guard_refusal(ChangeLimit(count=0), 10, changes(1))
    assert "intended, allow it for this run with max_changes: 8 in the task." in msg


def test_guard_refusal_in_the_roles_words_names_its_variable_and_the_one_run_override():
    msg = guard_refusal(ChangeLimit(percent=20), 10, changes(8), ROLE)
    assert "above phone_bindings_max_changes 20% of 10 phone extension(s) = 2. Check phone_bindings (" in msg
    assert "allow it for this run with -e phone_bindings_max_changes=8. First 5:" in msg
    assert "phone_bindings_max_changes 'x' is not a limit" in str(pytest.raises(SafetyError, parse_max_changes, "x", ROLE).value)


def test_backup_text_is_phone_bindings_yaml_without_secrets():
    text = backup_text("1001", WHEN, [("000*100", {"external_number": "89876543210", "record_enabled": True,
                                                   "password": "Sip-Pass-4711"}),
                                      ("000*101", {"external_number": None, "label": None, "hold_music": None,
                                                   "geo_list": "RU BY"}),
                                      ("000*102", {"label": "Приёмная \"A\""})],
                       text_keys=("external_number", "label"), skip=("password",))
    assert "Sip-Pass-4711" not in text and "password" not in text
    assert "# hold_music was unset (null), which bindings cannot set back" in text
    assert text.startswith("---\n# Backup of tenant 1001 by telphin.pbx.extension_phones, 2026-11-29 18:00:05 UTC")
    assert unsafe_yaml.load(text) == {"phone_bindings_client_id": 1001, "phone_bindings": [
        {"extension": "000*100", "external_number": "89876543210", "record_enabled": True},
        {"extension": "000*101", "external_number": "", "geo_list": "RU BY", "label": ""},
        {"extension": "000*102", "label": "Приёмная \"A\""}]}
    empty = unsafe_yaml.load(backup_text("1001", WHEN, [], ()))
    assert empty == {"phone_bindings_client_id": 1001, "phone_bindings": []}
    # pinned to its client (issue 30): restored with -e @file, it is refused on every other tenant of the run;
    # the app's own tenant (@me) has no id to pin
    assert unsafe_yaml.load(backup_text("@me", WHEN, [], ())) == {"phone_bindings": []}


def test_backup_path_follows_the_network_modules_convention():
    assert backup_path(None, "@me", WHEN) == os.path.join("backup", "_me_phone_bindings.2026-11-29@18:00:05.yml")
    assert backup_path({"dir_path": "/b", "filename": None}, "1001", WHEN) == \
        "/b/1001_phone_bindings.2026-11-29@18:00:05.yml"
    assert backup_path({"dir_path": "/b", "filename": "x.yml"}, "1001", WHEN) == "/b/x.yml"
    with pytest.raises(SafetyError, match="must be a file name"):
        backup_path({"filename": "../x.yml"}, "1001", WHEN)


def test_write_private_creates_directories_and_an_owner_only_file(tmp_path):
    path = write_private(str(tmp_path / "a" / "b" / "f.yml"), "x\n")
    assert open(path).read() == "x\n" and oct(os.stat(path).st_mode & 0o777) == "0o600"
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(SafetyError, match="cannot write"):
        write_private(str(blocker / "f.yml"), "x")


def plant_link(tmp_path, at):
    """A link another user of a shared directory planted at ``at``, pointing to a file they want overwritten."""
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    victim.chmod(0o644)
    os.symlink(str(victim), str(at))
    return victim


def test_write_private_never_writes_through_a_link_at_the_old_temporary_name(tmp_path):
    target = tmp_path / "plans" / "t1.plan.json"
    target.parent.mkdir()
    victim = plant_link(tmp_path, str(target) + ".tmp")
    path = write_private(str(target), "plan\n")
    assert victim.read_text() == "precious\n" and oct(victim.stat().st_mode & 0o777) == "0o644"
    assert open(path).read() == "plan\n" and not os.path.islink(path)
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert sorted(p.name for p in target.parent.iterdir()) == ["t1.plan.json", "t1.plan.json.tmp"]


@pytest.mark.parametrize("replace", [True, False])
def test_write_private_refuses_a_link_at_the_final_name(tmp_path, replace):
    target = tmp_path / "t1.plan.json"
    victim = plant_link(tmp_path, str(target))
    with pytest.raises(SafetyError, match=r"refused to write .*t1\.plan\.json: it is a symbolic link"):
        write_private(str(target), "plan\n", replace=replace)
    assert victim.read_text() == "precious\n" and os.path.islink(str(target))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t1.plan.json", "victim"]     # no temporary file left


def test_write_private_without_replace_never_replaces_a_file(tmp_path):
    first = write_private(str(tmp_path / "b.yml"), "one\n", replace=False)
    second = write_private(str(tmp_path / "b.yml"), "two\n", replace=False)
    third = write_private(str(tmp_path / "b.yml"), "three\n", replace=False)
    assert (first, second, third) == tuple(str(tmp_path / n) for n in ("b.yml", "b.2.yml", "b.3.yml"))
    assert [open(p).read() for p in (first, second, third)] == ["one\n", "two\n", "three\n"]
    assert oct(os.stat(third).st_mode & 0o777) == "0o600"
    assert write_private(str(tmp_path / "b.yml"), "new\n") == first and open(first).read() == "new\n"


def test_two_backups_in_one_second_are_two_files(tmp_path, monkeypatch):
    monkeypatch.setattr(_safety, "now", lambda: WHEN)
    options = {"dir_path": str(tmp_path)}
    first = write_backup(options, "1001", [("010*100", {"label": "Desk"}, ["label"])])
    second = write_backup(options, "1001", [("010*100", {"label": "Sales"}, ["label"])])
    assert first != second and os.path.basename(first) == "1001_phone_bindings.2026-11-29@18:00:05.yml"
    assert os.path.basename(second) == "1001_phone_bindings.2026-11-29@18:00:05.2.yml"
    assert unsafe_yaml.load(open(first).read())["phone_bindings"] == [{"extension": "010*100", "label": "Desk"}]
    assert unsafe_yaml.load(open(second).read())["phone_bindings"] == [{"extension": "010*100", "label": "Sales"}]


def test_fingerprint_is_stable_and_input_sensitive():
    a = fingerprint({"bindings": [{"extension": "100", "external_number": "+7"}], "client_id": "1001"})
    assert a == fingerprint({"client_id": "1001", "bindings": [{"external_number": "+7", "extension": "100"}]})
    assert a != fingerprint({"bindings": [{"extension": "100", "external_number": "+8"}], "client_id": "1001"})
    assert a.startswith("sha256:") and len(a) == 7 + 64


def plan(**overrides):
    doc = plan_document("1001", "RU", "sha256:x", WHEN, [
        {"extension": "100", "extension_full_name": "000*100", "extension_id": 54,
         "before": {"external_number": None}, "after": {"external_number": "+79876543210"}}], 4)
    doc.update(overrides)
    return doc


def test_plan_document_and_loading_it_from_a_file_or_inline(tmp_path):
    doc = plan()
    assert doc["format"] == PLAN_FORMAT and doc["created"] == "2026-11-29T18:00:05Z" and doc["phones"] == 4
    path = tmp_path / "t.plan.json"
    path.write_text(json.dumps(doc))
    assert load_plan(str(path)) == doc
    assert load_plan(doc) == doc


@pytest.mark.parametrize("value, fragment", [
    ("/nonexistent/plan.json", "no readable plan file at /nonexistent/plan.json \\(absent, or this run"),
    ({"format": "other"}, "not a plan of this collection"),
    (plan(changes=[{"extension_id": 54, "before": {}, "after": {}}]), "the plan is damaged"),
    (plan(changes=[{"extension_id": True, "before": {"a": 1}, "after": {"a": 2}}]), "the plan is damaged"),
    (plan(changes=[{"extension_id": 5, "before": {"a": 1}, "after": {"b": 2}}]), "the plan is damaged"),
    (plan(client_id=None), "the plan is damaged"),
    (plan(changes=plan()["changes"] * 2), "lists an extension twice"),
])
def test_bad_plans_are_refused(value, fragment):
    with pytest.raises(SafetyError, match=fragment):
        load_plan(value)


def test_a_plan_file_that_is_not_json_is_refused(tmp_path):
    path = tmp_path / "p"
    path.write_text("phone_bindings: []\n")
    with pytest.raises(SafetyError, match="is not a plan file"):
        load_plan(str(path))


# -- issue 30, item 7: a plan given as a path is a regular file of bounded size --------------------------------------
def test_a_plan_path_that_is_absent_or_unreadable_gets_one_message(tmp_path):
    unreadable = tmp_path / "secret.plan.json"
    unreadable.write_text("{}")
    unreadable.chmod(0)
    messages = []
    for path in (tmp_path / "absent.json", unreadable):
        with pytest.raises(SafetyError) as err:
            load_plan(str(path))
        messages.append(str(err.value).replace(str(path), "<path>"))
    if os.geteuid() != 0:       # root reads a file of mode 0
        assert messages[0] == messages[1]
    assert messages[0] == ("apply_plan: no readable plan file at <path> (absent, or this run's user may not read it); "
                           "nothing was changed")


@pytest.mark.parametrize("path", ["/dev/zero", "/dev/null", "/dev/urandom", "DIR", "FIFO"])
def test_a_plan_path_that_is_not_a_regular_file_is_refused_before_it_is_read(path, tmp_path):
    if path == "DIR":
        path = str(tmp_path)
    elif path == "FIFO":
        path = str(tmp_path / "fifo")
        os.mkfifo(path)             # no writer: an open that blocked would hang the test
    with pytest.raises(SafetyError, match="is not a regular file \\(a directory, device, FIFO or socket\\)"):
        load_plan(path)


def test_a_link_to_a_plan_file_is_read_and_a_plan_file_over_the_cap_is_refused(tmp_path, monkeypatch):
    doc = plan()
    path = tmp_path / "p.json"
    path.write_text(json.dumps(doc))
    link = tmp_path / "link.json"
    link.symlink_to(path)
    assert load_plan(str(link)) == doc
    monkeypatch.setattr(_safety, "MAX_PLAN_BYTES", len(json.dumps(doc)) - 1)
    with pytest.raises(SafetyError, match="is larger than a plan can be"):
        load_plan(str(path))
    with pytest.raises(SafetyError, match="the plan's text is larger than a plan can be"):
        load_plan(json.dumps(doc))
