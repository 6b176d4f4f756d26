"""AWX / Automation Controller: the "Telphin PBX API" credential type and a job run as the controller runs it.

The controller renders the credential type's injectors (Jinja2 in an immutable sandbox, secret inputs
included, ``file`` templates written under ``<private_data_dir>/env``) and starts ansible-runner with
the rendered environment. ``inject_like_the_controller`` below does the same, following the
controller's ``inject_credential``: empty string inputs stay undefined, unset booleans are ``False``.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import tempfile
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict, Iterator, List, Tuple

import pytest
import yaml
from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from harness import ANSIBLE_BIN, COLLECTIONS_ROOT, api_calls, token_calls
from tests.reliability.lib import tenants_inventory

ROOT = Path(__file__).resolve().parents[2]
CREDENTIAL_TYPE = ROOT / "extensions" / "awx" / "credential_type.yml"
EXAMPLES = ROOT / "docs" / "examples"
AWX_GUIDE = ROOT / "docs" / "docsite" / "rst" / "awx.rst"
DEALER_APP = ("dealer-app", "dealer-demo-secret-1Zx6")
# Environment variables the controller refuses to let a credential type set (its ENV_BLOCKLIST).
CONTROLLER_ENV_BLOCKLIST = {"VIRTUAL_ENV", "PATH", "PYTHONPATH", "JOB_ID", "INVENTORY_ID", "INVENTORY_SOURCE_ID",
                            "INVENTORY_UPDATE_ID", "AD_HOC_COMMAND_ID", "REST_API_URL", "REST_API_TOKEN",
                            "MAX_EVENT_RES", "CALLBACK_QUEUE", "CALLBACK_CONNECTION", "CACHE", "JOB_CALLBACK_DEBUG",
                            "INVENTORY_HOSTVARS", "AWX_HOST", "PROJECT_REVISION", "SUPERVISOR_CONFIG_PATH"}


def credential_type() -> Dict[str, Any]:
    return yaml.safe_load(CREDENTIAL_TYPE.read_text())


def inject_like_the_controller(cred_type: Dict[str, Any], inputs: Dict[str, Any],
                               private_data_dir: Path) -> Dict[str, str]:
    """The environment the controller gives the job for a credential with these inputs."""
    tower = SimpleNamespace()
    namespace: Dict[str, Any] = {"tower": tower}
    for name, value in inputs.items():
        if isinstance(value, bool) or value:
            namespace[name] = value
    for field in cred_type["inputs"]["fields"]:
        if field["type"] == "boolean" and field["id"] not in inputs:
            namespace[field["id"]] = False
    sandbox = ImmutableSandboxedEnvironment()
    files: Dict[str, str] = {}
    (private_data_dir / "env").mkdir(parents=True, exist_ok=True)
    for label, template in cred_type["injectors"].get("file", {}).items():
        handle, path = tempfile.mkstemp(dir=private_data_dir / "env")
        with os.fdopen(handle, "w") as out:
            out.write(sandbox.from_string(template).render(**namespace))
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        files[label.split(".", 1)[1]] = path
    tower.filename = SimpleNamespace(**files)
    return {name: sandbox.from_string(template).render(**namespace)
            for name, template in cred_type["injectors"]["env"].items()}


def connection_env_vars() -> List[str]:
    """The TELPHIN_* variables the connection options read, from the doc fragment and the argspec."""
    fragment = (ROOT / "plugins" / "doc_fragments" / "connection.py").read_text()
    argspec = (ROOT / "plugins" / "module_utils" / "_ansible.py").read_text()
    documented = set(re.findall(r"E\((TELPHIN_[A-Z_]+)\)|name: (TELPHIN_[A-Z_]+)", fragment))
    documented = {a or b for a, b in documented}
    read = set(re.findall(r'env\("(TELPHIN_[A-Z_]+)"\)', argspec))
    assert documented == read, "the connection doc fragment and the argspec disagree"
    # allow_plain_http is a switch for test servers, not a field of the credential
    return sorted(read - {"TELPHIN_ALLOW_PLAIN_HTTP"})


# -- the credential type itself ---------------------------------------------------------------------
def test_credential_type_injects_exactly_the_connection_env_vars():
    cred = credential_type()
    assert (cred["name"], cred["kind"]) == ("Telphin PBX API", "cloud")
    assert sorted(cred["injectors"]["env"]) == connection_env_vars()
    assert set(cred["injectors"]) <= {"env", "file", "extra_vars"} and "extra_vars" not in cred["injectors"]
    fields = {f["id"]: f for f in cred["inputs"]["fields"]}
    assert fields["api_url"]["default"] == "https://apiproxy.telphin.ru"
    assert sorted(i for i, f in fields.items() if f.get("secret")) == ["access_token", "app_secret"]
    assert fields["skip_tls_verify"]["type"] == "boolean" and fields["ca_cert"].get("multiline") is True


def test_credential_type_passes_the_controllers_checks():
    """What the controller validates when the type is saved: field shapes, env names, templates."""
    cred = credential_type()
    fields = cred["inputs"]["fields"]
    ids = [f["id"] for f in fields]
    assert len(ids) == len(set(ids)) and all(re.match(r"^[a-zA-Z_]+[a-zA-Z0-9_]*$", i) for i in ids)
    for field in fields:
        assert field["type"] in ("string", "boolean") and field.get("label")
        assert not (field["type"] == "boolean" and field.get("secret"))
    assert set(cred["inputs"]["required"]) <= set(ids)
    assert not set(cred["injectors"]["env"]) & CONTROLLER_ENV_BLOCKLIST
    assert all(not name.startswith("ANSIBLE_") for name in cred["injectors"]["env"])
    # Every template renders with every field defined and undefined names refused.
    strict = ImmutableSandboxedEnvironment(undefined=StrictUndefined)
    namespace = {f["id"]: (True if f["type"] == "boolean" else "EXAMPLE") for f in fields}
    namespace["tower"] = SimpleNamespace(filename=SimpleNamespace(
        **{label.split(".", 1)[1]: "EXAMPLE_FILENAME" for label in cred["injectors"].get("file", {})}))
    for section in ("file", "env"):
        for template in cred["injectors"].get(section, {}).values():
            strict.from_string(template).render(**namespace)


def test_injectors_render_like_the_controller(tmp_path):
    cred = credential_type()
    env = inject_like_the_controller(cred, {"api_url": "https://api.example.net", "app_id": "a",
                                            "app_secret": "s"}, tmp_path)
    assert env == {"TELPHIN_API_URL": "https://api.example.net", "TELPHIN_TOKEN_URL": "", "TELPHIN_APP_ID": "a",
                   "TELPHIN_APP_SECRET": "s", "TELPHIN_ACCESS_TOKEN": "", "TELPHIN_VALIDATE_CERTS": "true",
                   "TELPHIN_CA_PATH": ""}
    env = inject_like_the_controller(cred, {"api_url": "https://api.example.net", "access_token": "t",
                                            "skip_tls_verify": True, "ca_cert": "-----BEGIN CERTIFICATE-----\n"},
                                     tmp_path / "second")
    assert env["TELPHIN_VALIDATE_CERTS"] == "false" and env["TELPHIN_ACCESS_TOKEN"] == "t"
    ca_file = Path(env["TELPHIN_CA_PATH"])
    assert ca_file.parent == tmp_path / "second" / "env"
    assert ca_file.read_text() == "-----BEGIN CERTIFICATE-----\n" and stat.S_IMODE(ca_file.stat().st_mode) == 0o600


# -- a job as the controller runs it -----------------------------------------------------------------
def example_tenants() -> Dict[str, Dict[str, Any]]:
    """The quick start tenants with their bindings; credentials come from the AWX credential instead.

    The host vars are the example inventory's (``docs/examples/inventory/host_vars``), not ``tenant_vars``:
    the job must run the documented quick start, with no ``telphin_api_url`` or ``telphin_app_*`` host var to
    shadow the injected ``TELPHIN_*`` environment."""
    hosts = {}
    for host_dir in sorted((EXAMPLES / "inventory" / "host_vars").iterdir()):
        host_vars = yaml.safe_load((host_dir / "main.yml").read_text())
        host_vars.update(yaml.safe_load((host_dir / "bindings.yml").read_text()))
        hosts[host_dir.name] = {k: v for k, v in host_vars.items() if not k.startswith("telphin_app_")}
    return hosts


def runner_job(private_data_dir: Path, env: Dict[str, str], *cmdline: str):
    """``ansible_runner.run`` with the controller's settings: no env files, a project playbook that imports
    the collection's playbook, the collection on the collections path."""
    ansible_runner = pytest.importorskip("ansible_runner")
    project = private_data_dir / "project"
    project.mkdir(parents=True, exist_ok=True)
    (project / "rollout.yml").write_text("---\n- name: Roll out the bindings of every tenant\n"
                                         "  ansible.builtin.import_playbook: telphin.pbx.rollout_bindings\n")
    inventory = tenants_inventory(example_tenants())
    envvars = dict(env, ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS_ROOT),
                   ANSIBLE_HOME=str(private_data_dir.parent / "ansible-home"),
                   ANSIBLE_LOCAL_TEMP=str(private_data_dir.parent / "ansible-tmp"),
                   PATH=str(ANSIBLE_BIN) + os.pathsep + os.environ.get("PATH", ""))
    return ansible_runner.run(private_data_dir=str(private_data_dir), playbook="rollout.yml", inventory=inventory,
                              envvars=envvars, suppress_env_files=True, quiet=True, verbosity=3,
                              cmdline=" ".join(cmdline) or None, timeout=300)


def walk_texts(private_data_dir: Path) -> Iterator[Tuple[str, str]]:
    """(relative path, text) of every file the job left, less the ``env`` mapping of ``artifacts/*/command``.

    ansible-runner writes ``artifacts/<ident>/command`` itself, as JSON of the command line, the working
    directory and the whole process environment (``env``), before the job starts and whatever the
    settings. That environment holds the injected credential by design, as it is how the job gets it;
    the controller deletes the private data directory after the job (AWX_CLEANUP_PATHS) and keeps only
    the masked copy of the environment. The command line and working directory are still checked.
    """
    for path in sorted(p for p in private_data_dir.rglob("*") if p.is_file()):
        relative = path.relative_to(private_data_dir).as_posix()
        text = path.read_text(errors="replace")
        if re.fullmatch(r"artifacts/[^/]+/command", relative):
            data = json.loads(text)
            assert set(data) == {"command", "cwd", "env"}, relative
            text = json.dumps({"command": data["command"], "cwd": data["cwd"]})
        yield relative, text


def assert_no_secret_left(private_data_dir: Path, run: Any, secrets: List[str]) -> None:
    secrets = [s for s in secrets if s]
    assert len(secrets) >= 2
    # The controller runs with AWX_RUNNER_OMIT_ENV_FILES: the environment is never written to env/envvars.
    assert not (private_data_dir / "env" / "envvars").exists()
    commands = list(private_data_dir.glob("artifacts/*/command"))
    assert len(commands) == 1 and "TELPHIN_API_URL" in json.loads(commands[0].read_text())["env"]
    files = dict(walk_texts(private_data_dir))
    assert any(name.startswith("artifacts/") and "/job_events/" in name for name in files)
    events = json.dumps(list(run.events))
    for secret in secrets:
        assert secret not in events
        leaks = [name for name, text in files.items() if secret in text]
        assert leaks == [], "a secret was written to %s" % leaks


def converged(state: Dict[str, Any], tenants: Dict[str, Dict[str, Any]]) -> bool:
    from ansible_collections.telphin.pbx.plugins.module_utils._phone import normalize, normalize_current
    clients = {str(c["id"]): c for c in state["clients"]}
    for tenant in tenants.values():
        client = clients[tenant["telphin_client_id"]]
        phones = {}
        for ext in client["extensions"]:
            phones[ext["name"]] = phones[ext["name"].split("*")[-1]] = ext.get("phone") or {}
        for item in tenant["phone_bindings"]:
            phone = phones[item["extension"]]
            for key, value in item.items():
                if key != "extension" and normalize_current(key, phone.get(key)) != normalize(key, value):
                    return False
    return True


def test_rollout_job_with_the_credential_over_tls_leaves_no_secret(emulator_factory, tmp_path):
    """A dealer-level credential with a private CA: the job converges every tenant, and neither the
    app secret nor any token issued appears in the job events or anywhere in the job's directory."""
    world = yaml.safe_load((EXAMPLES / "world.yml").read_text())
    emu = emulator_factory(world, tls=True)
    tenants = example_tenants()
    assert not converged(emu.state(), tenants)
    private_data_dir = tmp_path / "job1"
    inputs = {"api_url": emu.url, "app_id": DEALER_APP[0], "app_secret": DEALER_APP[1],
              "ca_cert": Path(emu.ca_path).read_text()}
    env = inject_like_the_controller(credential_type(), inputs, private_data_dir)
    assert env["TELPHIN_VALIDATE_CERTS"] == "true" and Path(env["TELPHIN_CA_PATH"]).is_file()

    run = runner_job(private_data_dir, env)
    assert (run.status, run.rc) == ("successful", 0), run.stdout.read()
    assert converged(emu.state(), tenants)
    log = emu.requests()
    assert len(token_calls(log)) == len(tenants)     # one token per tenant, all with the dealer app
    assert {r["body"]["client_id"] for r in token_calls(log)} == {DEALER_APP[0]}
    assert {r["app_id"] for r in log if r not in token_calls(log)} == {DEALER_APP[0]}
    assert not [r for r in log if r["status"] == 401]   # an empty injected access_token costs no request
    stats = [e for e in run.events if e.get("event") == "playbook_on_stats"][-1]["event_data"]
    assert sorted(stats["changed"]) == sorted(tenants) and not stats["failures"]
    assert_no_secret_left(private_data_dir, run, [DEALER_APP[1]] + emu.tokens())


def client_for(emu, **params):
    """The API client a module builds from its options, here as the credential's environment sets them."""
    from ansible_collections.telphin.pbx.plugins.module_utils._client import ApiClient
    from ansible_collections.telphin.pbx.plugins.module_utils._settings import ConnectionSettings
    return ApiClient(ConnectionSettings.from_params(dict(params, api_url=emu.url)))


def test_an_empty_injected_access_token_costs_no_request(emulator_factory):
    emu = emulator_factory(yaml.safe_load((EXAMPLES / "world.yml").read_text()))
    client = client_for(emu, app_id=DEALER_APP[0], app_secret=DEALER_APP[1], access_token="", token_url="",
                        ca_path="")
    client.get("/client/1001/extension/")
    assert [r["status"] for r in emu.requests()] == [200, 200]


def test_the_injected_ca_certificate_wins_over_requests_ca_bundle(emulator_factory, monkeypatch):
    import requests.certs
    emu = emulator_factory(yaml.safe_load((EXAMPLES / "world.yml").read_text()), tls=True)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", requests.certs.where())
    client = client_for(emu, app_id=DEALER_APP[0], app_secret=DEALER_APP[1], ca_path=emu.ca_path)
    assert isinstance(client.get("/client/1001/extension/"), list)


def test_drift_report_job_with_an_access_token_leaves_no_secret(emulator_factory, tmp_path):
    """A credential holding only a bearer token; the job is a check-mode drift report (--check --diff)."""
    import requests
    world = yaml.safe_load((EXAMPLES / "world.yml").read_text())
    emu = emulator_factory(world)
    reply = requests.post(emu.url + "/oauth/token", timeout=10,
                          data={"grant_type": "client_credentials", "client_id": DEALER_APP[0],
                                "client_secret": DEALER_APP[1]})
    reply.raise_for_status()
    token = reply.json()["access_token"]
    emu.requests(clear=True)
    private_data_dir = tmp_path / "job2"
    env = inject_like_the_controller(credential_type(), {"api_url": emu.url, "access_token": token},
                                     private_data_dir)
    run = runner_job(private_data_dir, env, "--check", "--diff")
    assert (run.status, run.rc) == ("successful", 0), run.stdout.read()
    log = emu.requests()
    assert token_calls(log) == [] and api_calls(log, "PUT") == []
    assert not converged(emu.state(), example_tenants())
    stdout = run.stdout.read()
    assert "acme: 3 phones looked at, 2 to change" in stdout
    assert_no_secret_left(private_data_dir, run, [token, DEALER_APP[1]] + emu.tokens())


# -- the example playbook that creates the credential type ----------------------------------------------
FAKE_CREDENTIAL_TYPE_MODULE = textwrap.dedent('''\
    #!/usr/bin/python
    # A stand-in for awx.awx.credential_type: records the arguments it was called with.
    import json, os
    from ansible.module_utils.basic import AnsibleModule
    spec = dict(name=dict(required=True), description=dict(), kind=dict(), inputs=dict(type="dict"),
                injectors=dict(type="dict"), state=dict(default="present"))
    module = AnsibleModule(argument_spec=spec)
    with open(os.environ["FAKE_AWX_RECORD"], "w") as out:
        json.dump(module.params, out)
    module.exit_json(changed=True)
    ''')


def example_playbook() -> str:
    """The YAML code block of the AWX guide that follows the ``.. _..._create_credential_type:`` label."""
    text = AWX_GUIDE.read_text()
    match = re.search(r"\.\. code-block:: yaml\n\s*:caption: create_credential_type\.yml\n\n((?:    .*\n|\n)+)",
                      text)
    assert match, "the AWX guide has no create_credential_type.yml code block"
    return textwrap.dedent(match.group(1))


def test_the_guides_example_playbook_creates_the_credential_type_from_the_file(tmp_path):
    fake = tmp_path / "fake" / "ansible_collections" / "awx" / "awx"
    (fake / "plugins" / "modules").mkdir(parents=True)
    (fake / "plugins" / "modules" / "credential_type.py").write_text(FAKE_CREDENTIAL_TYPE_MODULE)
    (fake / "meta").mkdir()
    (fake / "meta" / "runtime.yml").write_text("---\nrequires_ansible: '>=2.16'\n")
    book = tmp_path / "create_credential_type.yml"
    book.write_text(example_playbook())
    record = tmp_path / "record.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELPHIN_", "ANSIBLE_"))}
    env.update(ANSIBLE_COLLECTIONS_PATH=os.pathsep.join([str(tmp_path / "fake"), str(COLLECTIONS_ROOT)]),
               ANSIBLE_HOME=str(tmp_path / "ansible-home"), ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"),
               ANSIBLE_NOCOLOR="1", FAKE_AWX_RECORD=str(record))
    proc = subprocess.run([str(ANSIBLE_BIN / "ansible-playbook"), "-i", "localhost,", str(book)],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    sent = json.loads(record.read_text())
    cred = credential_type()
    assert sent == {"name": cred["name"], "description": cred["description"], "kind": cred["kind"],
                    "inputs": cred["inputs"], "injectors": cred["injectors"], "state": "present"}
