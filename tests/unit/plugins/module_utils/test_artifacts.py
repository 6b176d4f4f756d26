"""Plans and backups as job artifacts (issue 31 items 4 and 5), every HTTP call scripted: one key per tenant by
client id, JSON text without template markup or secret, bounded in size, and an undo from a job's artifacts that
takes only a signed backup of the task's own tenant."""

from __future__ import annotations

import json
import re

import pytest

from ansible_collections.telphin.pbx.plugins.module_utils import _artifacts
from ansible_collections.telphin.pbx.plugins.module_utils._errors import InputError
from ansible_collections.telphin.pbx.plugins.module_utils._safety import SafetyError
from scripted import Call, token
from tests import unsafe_yaml
from ansible_collections.telphin.pbx.tests.unit.plugins.module_utils.test_bulk_safety import LIST, get, put, run

OWN = [Call(c.method, c.path.replace("@me", "1001"), reply=c.reply, params=c.params) for c in LIST]
BINDINGS = [{"extension": "100", "external_number": "+79000000001", "label": "{{ lookup('pipe', 'id') }}"},
            {"extension": "101", "conference_pin": "5813907264"}]


def applied(tmp_path, client_id="1001", listing=OWN):
    """A run with a backup: 100 gets a number and a label, 101 a new PIN (which no backup holds)."""
    calls = [token(), *listing, Call("GET", "/client/%s/extensions_bundle/" % client_id, reply=[]),
             get(54, label="{% raw %}Desk"), get(55, conference_pin="4711830265"),
             put(54, {"external_number": "+79000000001", "label": "{{ lookup('pipe', 'id') }}"}),
             put(55, {"conference_pin": "5813907264"})]
    return run(calls, client_id=client_id, bindings=BINDINGS, backup=True,
               backup_options={"dir_path": str(tmp_path)})


def test_a_backup_is_returned_as_the_tenants_artifact_signed_and_safe_to_pass_on(tmp_path):
    result, warnings = applied(tmp_path)
    assert list(result["artifacts"]) == ["telphin_backup_1001"] and warnings == []
    text = result["artifacts"]["telphin_backup_1001"]
    assert "{{" not in text and "{%" not in text and "4711830265" not in text and "5813907264" not in text
    doc = json.loads(text)
    assert doc["format"] == "telphin.pbx.backup/1" and doc["client_id"] == "1001"
    assert doc["signature"].startswith("hmac-sha256:")
    # the same phones and values as the backup file, the PIN-only change in neither
    with open(result["backup_path"]) as handle:
        assert doc["phone_bindings"] == unsafe_yaml.load(handle.read())["phone_bindings"] == [
            {"extension": "000*100", "external_number": "", "label": "{% raw %}Desk"}]


def test_a_plan_is_returned_as_the_tenants_artifact(tmp_path):
    calls = [token(), *LIST, get(54), get(55)]
    result, warnings = run(calls, True, bindings=[{"extension": "100", "label": "A"}, {"extension": "101", "label": "B"}],
                           plan_path=str(tmp_path / "p.json"))
    assert result["artifacts"] == {"telphin_plan_me": result["plan_text"]}       # @me is keyed "me"


def test_an_artifact_over_the_bound_is_left_out_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.setattr(_artifacts, "MAX_ARTIFACT_CHARS", 100)
    result, warnings = applied(tmp_path)
    assert result["artifacts"] == {} and result["backup_path"]
    [warning] = warnings
    assert re.fullmatch(r"the backup of client 1001 is [0-9]{3} characters of JSON, over the 0 MiB of a job artifact: "
                        r"not published as telphin_backup_1001; its file %s is the only copy \(in AWX, keep it on "
                        r"persistent storage, or change fewer phones per job\)" % re.escape(result["backup_path"]),
                        warning), warning


def restore(restore_backup, calls, client_id="1001", **params):
    return run(calls, client_id=client_id, restore_backup=restore_backup,
               bindings=[{"extension": "102", "label": "ignored"}], unbind_unlisted=True, **params)


def test_restore_backup_sets_back_exactly_the_backup_from_a_jobs_artifacts(tmp_path):
    artifacts = applied(tmp_path)[0]["artifacts"]
    artifacts["telphin_backup_1002"] = "not this tenant's"       # another tenant's, never read here
    undo = [token(), *OWN, get(54, external_number="+79000000001", label="{{ lookup('pipe', 'id') }}"),
            put(54, {"external_number": None, "label": "{% raw %}Desk"})]         # "" unbinds
    for given in (artifacts, json.dumps(artifacts), artifacts["telphin_backup_1001"]):     # as AWX shows them
        result, warnings = restore(given, undo)
        assert result["summary"]["changed"] == 1 and warnings == []     # the bindings are not used, nothing unbound


def test_a_job_without_the_tenants_backup_leaves_it_as_it_is(tmp_path):
    result, warnings = restore({"telphin_backup_1002": "{}"}, [])
    assert result["summary"]["total"] == 0 and not result["changed"]
    assert warnings == ["restore_backup holds no backup of client 1001 (telphin_backup_1001): nothing to set back"]


def test_a_changed_forged_or_foreign_backup_is_refused_before_any_request(tmp_path):
    text = applied(tmp_path)[0]["artifacts"]["telphin_backup_1001"]
    doc = json.loads(text)
    changed = dict(doc, phone_bindings=[{"extension": "000*100", "external_number": "+79990000000"}])
    unsigned = {k: v for k, v in doc.items() if k != "signature"}
    for bad, message in ((changed, "the backup's signature does not match its content"),
                         (unsigned, "the backup's signature does not match its content"),
                         ({"format": "telphin.pbx.plan/1"}, "not a backup of this collection"),
                         ("{not json", "restore_backup is not JSON"),
                         ({"telphin_backup_1001": "[1"}, "telphin_backup_1001 is not JSON"),
                         (dict(doc, phone_bindings="x"), "the backup is damaged")):
        with pytest.raises(SafetyError, match=message):
            restore(bad, [])
    with pytest.raises(SafetyError, match='the backup is of client "1001", not 1002; nothing was changed'):
        restore(text, [], client_id="1002")
    with pytest.raises(InputError, match="apply_plan and restore_backup are mutually exclusive"):
        restore(text, [], apply_plan="x")


def test_a_backup_is_signed_with_the_runs_credentials(tmp_path):
    text = applied(tmp_path)[0]["artifacts"]["telphin_backup_1001"]
    with pytest.raises(SafetyError, match="signature does not match"):
        _artifacts.restore_bindings(text, "1001", b"another app's key")
