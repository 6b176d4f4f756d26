"""The phone_bindings role's bulk call takes its options from the role's variables (no template in its task)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import yaml

from ansible_collections.telphin.pbx.plugins.module_utils._words import ROLE
from ansible_collections.telphin.pbx.plugins.plugin_utils._role import role_options

ROLE_DIR = Path(__file__).resolve().parents[4] / "roles" / "phone_bindings"
DEFAULTS = yaml.safe_load((ROLE_DIR / "defaults" / "main.yml").read_text())
NOW = datetime(2026, 12, 6, 3, 4, 5, tzinfo=timezone.utc)


def options(variables, base=None, check_mode=False, host="tenant1"):
    """``role_options`` over ``variables`` (as given: the lookup here does not template); also which were read."""
    read = []

    def lookup(name, default):
        read.append(name)
        return variables.get(name, default)

    return role_options(base or {}, lookup, host, check_mode, NOW), read


def test_the_role_defaults_give_what_the_task_passed():
    got = options(dict(DEFAULTS, phone_bindings=[{"extension": "100", "external_number": "+79161234567"}]))[0]
    assert got == {"client_id": "@me", "bindings": [{"extension": "100", "external_number": "+79161234567"}],
                   "unbind_unlisted": False, "parallel": 4, "update_password": "always", "report_unchanged": False,
                   "default_region": "RU", "max_changes": "20%", "backup": False, "plan_max_age": "72h",
                   "plan_allow_changed_bindings": False, "restore_backup": ""}


def test_only_the_connection_variables_that_are_set_are_passed_and_they_win_over_module_defaults():
    base = {"api_url": "https://play.default", "timeout": 5, "token_url": "https://play.default/oauth/token",
            "client_id": "9999"}
    got = options(dict(DEFAULTS, telphin_api_url="https://tenant.api", telphin_app_id="app-1",
                       telphin_app_secret="s3cret", telphin_client_id="1001"), base=base)[0]
    assert got["api_url"] == "https://tenant.api"          # the host variable, over a play's module_defaults
    assert got["timeout"] == 5 and got["token_url"] == "https://play.default/oauth/token"   # unset: left alone
    assert (got["app_id"], got["app_secret"], got["client_id"]) == ("app-1", "s3cret", "1001")
    assert "access_token" not in got and "ca_path" not in got   # unset: the TELPHIN_* environment or the default
    assert "number_check" not in got                           # no role default: the module's
    assert options(dict(DEFAULTS), base=base)[0]["client_id"] == "@me"     # as the task's argument did
    assert options(dict(DEFAULTS, phone_bindings_number_check="possible"))[0]["number_check"] == "possible"
    assert "bundle_listing" not in got
    assert options(dict(DEFAULTS, telphin_bundle_listing=False))[0]["bundle_listing"] is False


def test_every_setting_but_number_check_has_a_role_default():
    settings = {v for v in ROLE.names.values() if v.startswith("phone_bindings_")}
    assert settings - set(DEFAULTS) == {"phone_bindings_number_check"}
    assert {"phone_bindings_backup_dir", "phone_bindings_plan_dir", "phone_bindings_apply_plan"} <= set(DEFAULTS)


def test_backup_names_the_file_by_tenant_and_utc_time_and_reads_the_directory_only_then():
    got, read = options(dict(DEFAULTS, phone_bindings_backup_dir="/srv/backup"))
    assert "backup_options" not in got and "phone_bindings_backup_dir" not in read
    got = options(dict(DEFAULTS, phone_bindings_backup="yes", phone_bindings_backup_dir="/srv/backup"))[0]
    assert got["backup"] == "yes"          # the module's spec makes it a boolean, as with the template before
    assert got["backup_options"] == {"dir_path": "/srv/backup",
                                     "filename": "tenant1_phone_bindings.2026-12-06@03:04:05.yml"}


def test_a_check_run_with_a_plan_dir_writes_the_tenants_plan():
    variables = dict(DEFAULTS, phone_bindings_plan_dir="/srv/plans")
    assert options(variables, check_mode=True)[0]["plan_path"] == "/srv/plans/tenant1.plan.json"
    assert "plan_path" not in options(variables)[0]
    assert "plan_path" not in options(DEFAULTS, check_mode=True)[0]


def test_apply_plan_takes_the_tenants_artifact_by_client_id_first():
    """Issue 31 item 5: one artifact key per tenant (a sliced plan job keeps each slice's), by client id, not name."""
    variables = dict(DEFAULTS, phone_bindings_apply_plan=True, phone_bindings_plan_dir="/srv/plans",
                     telphin_client_id="1001", telphin_plan_1001='{"plan": "1001"}', telphin_plan_1002='{"plan": 2}',
                     telphin_plans={"tenant1": '{"plan": "1.1.0"}'})
    assert options(variables)[0]["apply_plan"] == '{"plan": "1001"}'
    assert options(dict(variables, telphin_client_id=" 1002 "))[0]["apply_plan"] == '{"plan": 2}'
    assert options(dict(variables, telphin_client_id="1003"))[0]["apply_plan"] == '{"plan": "1.1.0"}'   # 1.1.0's key
    assert options(dict(DEFAULTS, phone_bindings_apply_plan=True, telphin_plan_me="{}"))[0]["apply_plan"] == "{}"
    assert options(dict(variables, telphin_client_id="10x1"))[0]["apply_plan"] == '{"plan": "1.1.0"}'  # engine refuses


def test_apply_plan_takes_the_published_plan_else_the_plan_file_else_nothing():
    published = {"tenant1": '{"plan": 1}', "tenant2": '{"plan": 2}'}
    variables = dict(DEFAULTS, phone_bindings_apply_plan=True, phone_bindings_plan_dir="/srv/plans")
    assert options(dict(variables, telphin_plans=published))[0]["apply_plan"] == '{"plan": 1}'
    assert options(dict(variables, telphin_plans={"tenant2": "x"}))[0]["apply_plan"] == "/srv/plans/tenant1.plan.json"
    assert options(dict(DEFAULTS, phone_bindings_apply_plan="true"))[0]["apply_plan"] == ""
    assert "apply_plan" not in options(dict(variables, telphin_plans=published, phone_bindings_apply_plan="no"))[0]
