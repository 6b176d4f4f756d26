"""AWX / Automation Controller as it runs the collection, written from AWX's documented behaviour (tests only).

What the controller does, and what this module does the same way (without a database, a container or receptor):

* **Credential types.** Saving a type validates ``inputs`` against a JSON schema (field keys, ``type`` string or
  boolean, ``format`` one of ``ssh_private_key``/``url``, ids that are variable names, no ``tower`` id), and
  ``injectors`` (``file``/``env``/``extra_vars``; env names that are shell names, not ``ANSIBLE_*`` nor on the
  controller's block list; every template renders with each field set and ``StrictUndefined``). Saving a
  credential validates its inputs against the fields as a JSON schema (draft 4) with format checks: ``url`` needs
  a scheme and a host. ``check_credential_type`` and ``credential_input_errors``.
* **Injection.** The templates render in Jinja2's immutable sandbox with the credential's non-empty inputs (an
  empty or missing string input is undefined, so it renders as ``""``), unset booleans ``False``; every
  ``file`` template is written to a 0600 temp file under ``<private_data_dir>/env`` (also when it renders
  empty) and ``tower.filename.<name>`` points at it; every ``env`` injector is set, so an unset field is
  injected as ``""``. The job's stored environment renders secret inputs as ``**********``. ``inject``.
* **Inventory update** (a source *Sourced from a Project*): the project is copied to
  ``<private_data_dir>/project``, the credentials of the source are injected, and ansible-runner runs the raw
  command ``ansible-inventory --list --export -i project/<source> --output artifacts/<id>/output.json
  --playbook-dir ...`` from the project directory, with ``ANSIBLE_INVENTORY_UNPARSED_FAILED``,
  ``ANSIBLE_INVENTORY_EXPORT``, ``ANSIBLE_VERBOSE_TO_STDERR`` and ``ANSIBLE_HOST_PATTERN_MISMATCH=error``.
  The controller imports the JSON (``inventory_import.Command.perform_update`` through
  ``mem_inventory.dict_to_mem_data``) and stores each host's and group's variables as JSON text, as they are: a
  ``{"__ansible_unsafe": ...}`` or ``{"__ansible_vault": ...}`` mapping is an ordinary mapping to it, kept and given
  back unchanged (AWX never names either key). Host and group names must be strings: a host name goes through
  a regular expression (``ipv6_port_re``: a mapping there fails the whole import with ``TypeError``, the AWX
  failure of community.general issue 8212), one ``:port`` suffix is split off, and a new host whose name holds
  ``{{ }}`` or ``{% %}`` is refused (``sanitize_jinja``). ``import_inventory``. No Vault credential can be
  attached to a project source.
* **Job.** The stored inventory comes back as an executable script (``inventory/hosts``) printing the JSON
  (``Inventory.get_script_data``: the stored variables, ``remote_host_*``/``remote_tower_*`` added), hosts
  ordered by name and, for slice N of M, every M-th host from the N-th; ansible-core's script plugin reads a
  ``{"__ansible_unsafe": ...}`` mapping back as the unsafe (2.19+: untrusted) string; extra variables go to ``env/extravars``,
  each top-level key dumped ``!unsafe`` unless the job template itself sets it to that value; the command line
  takes ``-u root``, ``--check``, ``--diff``, ``--ask-vault-pass`` (the Vault credential's password is answered
  at the prompt), ``-l``, ``--forks``, ``-v``; ansible-runner runs with ``suppress_env_files`` (the environment
  is never written to ``env/envvars``). The ``set_stats`` data of the ``playbook_on_stats`` event are the job's
  artifacts.
* **Launch.** Extra variables given at launch are taken only when the job template prompts for them
  (``ask_variables_on_launch``) or when they answer the questions of its enabled survey; in a workflow the
  artifacts of the nodes before (top-level keys merged, later jobs winning) are added to the extra variables
  whatever the prompts, and the workflow's own extra variables over them. A sliced job template runs one job
  per slice, and the artifacts of the slices are merged the same way, key by key.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict, Iterator, List, Optional, Tuple
from urllib.parse import urlparse

import pytest
import yaml
from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from harness import ANSIBLE_BIN, COLLECTIONS_ROOT

ROOT = Path(__file__).resolve().parents[2]
CREDENTIAL_TYPE = ROOT / "extensions" / "awx" / "credential_type.yml"
# Environment variables a credential type may not set (the controller's ENV_BLOCKLIST), besides ANSIBLE_*.
ENV_BLOCKLIST = {"VIRTUAL_ENV", "PATH", "PYTHONPATH", "JOB_ID", "INVENTORY_ID", "INVENTORY_SOURCE_ID",
                 "INVENTORY_UPDATE_ID", "AD_HOC_COMMAND_ID", "REST_API_URL", "REST_API_TOKEN", "MAX_EVENT_RES",
                 "CALLBACK_QUEUE", "CALLBACK_CONNECTION", "CACHE", "JOB_CALLBACK_DEBUG", "INVENTORY_HOSTVARS",
                 "AWX_HOST", "PROJECT_REVISION", "SUPERVISOR_CONFIG_PATH"}
# The controller's ANSIBLE_* settings, given to every job and update.
CONTROLLER_ENV = {"ANSIBLE_HOST_KEY_CHECKING": "False", "ANSIBLE_PARAMIKO_RECORD_HOST_KEYS": "False",
                  "ANSIBLE_FORCE_COLOR": "True", "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True"}
INVENTORY_UPDATE_ENV = {"ANSIBLE_INVENTORY_UNPARSED_FAILED": "True", "ANSIBLE_INVENTORY_EXPORT": "True",
                        "ANSIBLE_VERBOSE_TO_STDERR": "True", "ANSIBLE_HOST_PATTERN_MISMATCH": "error"}
SECRET_MASK = "**********"


def credential_type() -> Dict[str, Any]:
    return yaml.safe_load(CREDENTIAL_TYPE.read_text())


# -- saving a credential type and a credential ----------------------------------------------------------
FIELD_KEYS = {"id", "type", "format", "choices", "label", "help_text", "multiline", "secret", "ask_at_runtime",
              "default"}
VAR_NAME = re.compile(r"^[a-zA-Z_]+[a-zA-Z0-9_]*$")


def check_credential_type(cred_type: Dict[str, Any]) -> None:
    """Raise ValueError for what the controller refuses when the type is saved."""
    inputs, injectors = cred_type["inputs"], cred_type["injectors"]
    if set(inputs) - {"fields", "required"}:
        raise ValueError("inputs: unknown keys %s" % sorted(set(inputs) - {"fields", "required"}))
    seen = set()
    for item in inputs.get("fields", []):
        unknown = set(item) - FIELD_KEYS
        if unknown or "id" not in item or "label" not in item:
            raise ValueError("field %r: unknown keys %s or no id/label" % (item.get("id"), sorted(unknown)))
        kind = item.get("type", "string")
        if kind not in ("string", "boolean") or item.get("format", "url") not in ("url", "ssh_private_key"):
            raise ValueError("field %s: type %s, format %s" % (item["id"], kind, item.get("format")))
        if not VAR_NAME.match(item["id"]) or item["id"] == "tower" or item["id"] in seen:
            raise ValueError("field id %r" % item["id"])
        seen.add(item["id"])
        if "default" in item and not isinstance(item["default"], {"string": str, "boolean": bool}[kind]):
            raise ValueError("field %s: default is not a %s" % (item["id"], kind))
        if kind != "string" and set(item) & {"choices", "multiline", "format", "secret"}:
            raise ValueError("field %s: string-only keys on a %s" % (item["id"], kind))
    if not set(inputs.get("required", [])) <= seen:
        raise ValueError("required names unknown fields")
    if set(injectors) - {"file", "env", "extra_vars"}:
        raise ValueError("injectors: unknown keys")
    for label in injectors.get("file", {}):
        if not re.match(r"^template(\.[a-zA-Z_]+[a-zA-Z0-9_]*)?$", label):
            raise ValueError("file injector %r" % label)
    for name, template in injectors.get("env", {}).items():
        if not VAR_NAME.match(name) or name.startswith("ANSIBLE_") or name in ENV_BLOCKLIST:
            raise ValueError("env injector %s is not allowed" % name)
        if not isinstance(template, str) or not template.isascii():
            raise ValueError("env injector %s: not an ASCII string" % name)
    namespace: Dict[str, Any] = {name: "EXAMPLE" for name in seen}
    namespace["tower"] = SimpleNamespace(filename=SimpleNamespace(
        **{label.split(".", 1)[1]: "EXAMPLE_FILENAME" for label in injectors.get("file", {}) if "." in label}))
    strict = ImmutableSandboxedEnvironment(undefined=StrictUndefined)
    for section in ("file", "env"):
        for template in injectors.get(section, {}).values():
            strict.from_string(template).render(**namespace)


def credential_input_errors(cred_type: Dict[str, Any], inputs: Dict[str, Any]) -> Dict[str, str]:
    """What the controller says when a credential with these inputs is saved: {field id: message}. Its JSON schema
    (draft 4) for the inputs: an object of the fields, no other keys, each of its type, ``choices`` as an enum,
    and the ``url`` format (a scheme and a host)."""
    fields = {item["id"]: item for item in cred_type["inputs"]["fields"]}
    errors = {}
    unknown = sorted(set(inputs) - set(fields))
    if unknown:
        errors["inputs"] = "Additional properties are not allowed (%s)" % ", ".join(unknown)
    for name, value in inputs.items():
        item = fields.get(name)
        if item is None:
            continue
        kind = item.get("type", "string")
        if not isinstance(value, {"string": str, "boolean": bool}[kind]):
            errors[name] = "%r is not of type %r" % (value, kind)
        elif "choices" in item and value not in item["choices"]:
            errors[name] = "%r is not one of %r" % (value, item["choices"])
        elif item.get("format") == "url":
            parsed = urlparse(value)
            if not parsed.scheme:
                errors[name] = "Invalid URL: Missing url scheme (http, https, etc.)"
            elif not parsed.netloc:
                errors[name] = "Invalid URL: %s" % value
    return errors


def missing_required(cred_type: Dict[str, Any], inputs: Dict[str, Any]) -> List[str]:
    """The required fields a credential lacks: a job or update using it does not start."""
    return [name for name in cred_type["inputs"].get("required", []) if inputs.get(name) in (None, "")]


@dataclass
class Credential:
    name: str
    inputs: Dict[str, Any]
    cred_type: Dict[str, Any] = field(default_factory=credential_type)

    def __post_init__(self) -> None:
        errors = credential_input_errors(self.cred_type, self.inputs)
        if errors:
            raise ValueError("the controller refuses credential %s: %s" % (self.name, errors))

    def secrets(self) -> List[str]:
        secret = {f["id"] for f in self.cred_type["inputs"]["fields"] if f.get("secret")}
        return [str(v) for k, v in self.inputs.items() if k in secret and v]


@dataclass
class VaultCredential:
    name: str
    vault_password: str


def inject(cred_type: Dict[str, Any], inputs: Dict[str, Any], private_data_dir: Path) -> Tuple[Dict[str, str],
                                                                                               Dict[str, str]]:
    """(environment of the job, environment the controller stores) for a credential with these inputs."""
    secret = {f["id"] for f in cred_type["inputs"]["fields"] if f.get("secret")}
    tower = SimpleNamespace()
    namespace: Dict[str, Any] = {"tower": tower}
    safe: Dict[str, Any] = {"tower": tower}
    for name, value in inputs.items():
        if isinstance(value, bool):
            namespace[name] = safe[name] = value
            continue
        if value:
            namespace[name] = value
            safe[name] = SECRET_MASK if name in secret else value
    for item in cred_type["inputs"]["fields"]:
        if item.get("type") == "boolean" and item["id"] not in inputs:
            namespace[item["id"]] = safe[item["id"]] = False
    sandbox = ImmutableSandboxedEnvironment()
    env_dir = private_data_dir / "env"
    env_dir.mkdir(parents=True, exist_ok=True)
    for label, template in cred_type["injectors"].get("file", {}).items():
        handle, path = tempfile.mkstemp(dir=env_dir)
        with os.fdopen(handle, "w") as out:
            out.write(sandbox.from_string(template).render(**namespace))
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        if "." in label:
            if not hasattr(tower, "filename"):
                tower.filename = SimpleNamespace()
            setattr(tower.filename, label.split(".", 1)[1], path)
        else:
            tower.filename = path
    env = {name: sandbox.from_string(t).render(**namespace) for name, t in cred_type["injectors"]["env"].items()}
    stored = {name: sandbox.from_string(t).render(**safe) for name, t in cred_type["injectors"]["env"].items()}
    return env, stored


# -- extra variables as the controller writes them ----------------------------------------------------------
class _UnsafeDumper(yaml.SafeDumper):
    def represent_data(self, data: Any) -> Any:
        if isinstance(data, str):
            return self.represent_scalar("!unsafe", data)
        return super().represent_data(data)


def extravars_yaml(extra_vars: Dict[str, Any], trusted: Dict[str, Any]) -> str:
    """Each top-level variable dumped on its own; ``!unsafe`` strings unless the job template sets it so."""
    parts = []
    for key, value in extra_vars.items():
        dumper = yaml.SafeDumper if key in trusted and trusted[key] == value else _UnsafeDumper
        parts.append(yaml.dump_all([{key: value}], None, Dumper=dumper, default_flow_style=False))
    return "".join(parts)


# -- the controller ---------------------------------------------------------------------------------------
@dataclass
class JobTemplate:
    name: str
    playbook: str
    credentials: List[Any] = field(default_factory=list)
    job_type: str = "run"                   # or "check"
    diff_mode: bool = False                 # "Show changes"
    extra_vars: Dict[str, Any] = field(default_factory=dict)
    ask_variables_on_launch: bool = False   # "Prompt on launch" for variables
    survey: List[str] = field(default_factory=list)     # the variables of an enabled survey's questions
    job_slice_count: int = 1
    forks: int = 5
    limit: str = ""
    verbosity: int = 0


@dataclass
class Outcome:
    """One inventory update or job: what the controller keeps of it, and where it ran."""

    kind: str
    ident: int
    status: str
    rc: Optional[int]
    private_data_dir: Path
    events: List[Dict[str, Any]]
    stdout: str
    stored_env: Dict[str, str]
    artifacts: Dict[str, Any] = field(default_factory=dict)
    inventory: Optional[Dict[str, Any]] = None     # an inventory update's output (what the controller stores)
    extra_vars: Dict[str, Any] = field(default_factory=dict)

    def stats(self) -> Dict[str, Any]:
        return [e for e in self.events if e.get("event") == "playbook_on_stats"][-1]["event_data"]


class Controller:
    """Runs inventory updates and jobs of one project the way the controller does; keeps every run."""

    def __init__(self, root: Path, project: Path, task_env: Optional[Dict[str, str]] = None) -> None:
        self.root = root
        self.project = project
        self.task_env = dict(task_env or {})   # AWX_TASK_ENV / the execution environment's own variables
        self.runs: List[Outcome] = []
        self._next = 100

    def _private_data_dir(self) -> Tuple[int, Path]:
        self._next += 1
        pdd = self.root / ("awx_%d" % self._next)
        for sub in ("env", "inventory", "artifacts"):
            (pdd / sub).mkdir(parents=True)
        shutil.copytree(self.project, pdd / "project", symlinks=True)
        return self._next, pdd

    def _base_env(self, pdd: Path) -> Dict[str, str]:
        env = dict(CONTROLLER_ENV, AWX_PRIVATE_DATA_DIR=str(pdd), **self.task_env)
        env.update(ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS_ROOT), ANSIBLE_HOME=str(self.root / "ansible-home"),
                   ANSIBLE_LOCAL_TEMP=str(self.root / "ansible-tmp"),
                   PATH=str(ANSIBLE_BIN) + os.pathsep + os.environ.get("PATH", ""))
        return env

    @staticmethod
    def _inject_all(credentials: List[Any], env: Dict[str, str], pdd: Path) -> Dict[str, str]:
        stored: Dict[str, str] = {}
        kinds = [type(c).__name__ + (c.cred_type["name"] if isinstance(c, Credential) else "") for c in credentials]
        assert len(kinds) == len(set(kinds)), "one credential of each type per job template"
        for credential in credentials:
            if isinstance(credential, Credential):
                assert not missing_required(credential.cred_type, credential.inputs), credential.name
                injected, safe = inject(credential.cred_type, credential.inputs, pdd)
                env.update(injected)
                stored.update(safe)
        return stored

    def _run(self, ident: int, pdd: Path, env: Dict[str, str], **kwargs: Any) -> Tuple[Any, List[Dict], str]:
        ansible_runner = pytest.importorskip("ansible_runner")
        (pdd / "env" / "settings").write_text(json.dumps({"suppress_ansible_output": True}))
        run = ansible_runner.run(private_data_dir=str(pdd), ident=str(ident), envvars=env, suppress_env_files=True,
                                 quiet=True, timeout=600, **kwargs)
        events = list(run.events)
        stdout = (pdd / "artifacts" / str(ident) / "stdout").read_text(errors="replace")
        return run, events, stdout

    def inventory_update(self, source_path: str, credentials: Optional[List[Any]] = None,
                         verbosity: int = 0) -> Outcome:
        credentials = list(credentials or [])
        assert not any(isinstance(c, VaultCredential) for c in credentials), \
            "the controller refuses a Vault credential on an inventory source"
        ident, pdd = self._private_data_dir()
        env = self._base_env(pdd)
        env.update(INVENTORY_UPDATE_ENV, INVENTORY_SOURCE_ID="1", INVENTORY_UPDATE_ID=str(ident))
        stored = self._inject_all(credentials, env, pdd)
        source = pdd / "project" / source_path
        output = pdd / "artifacts" / str(ident) / "output.json"
        args = ["ansible-inventory", "--list", "--export", "-i", str(source), "--output", str(output),
                "--playbook-dir", str(source if source.is_dir() else source.parent)]
        if verbosity:
            args.append("-" + "v" * min(5, verbosity * 2 + 1))
        (pdd / "args").write_text(" ".join(args))
        run, events, stdout = self._run(ident, pdd, env)
        status, inventory = run.status, None
        if run.status == "successful" and output.exists():
            try:
                inventory = import_inventory(json.loads(output.read_text()))
            except (TypeError, ValueError) as exc:     # the controller's post_run_hook: the update errors
                status, stdout = "error", stdout + "\nError occured while saving inventory data: %s" % exc
        outcome = Outcome("inventory_update", ident, status, run.rc, pdd, events, stdout, stored,
                          inventory=inventory)
        self.runs.append(outcome)
        return outcome

    def launch(self, template: JobTemplate, inventory: Dict[str, Any], launch_vars: Optional[Dict[str, Any]] = None,
               artifacts: Optional[Dict[str, Any]] = None, workflow_vars: Optional[Dict[str, Any]] = None
               ) -> List[Outcome]:
        """Launch a job template (from a workflow when ``artifacts`` or ``workflow_vars`` are given): one job per
        slice. Launch variables are dropped unless the template prompts for them or they answer its survey, as the
        controller ignores them."""
        given: Dict[str, Any] = {k: v for k, v in (launch_vars or {}).items()
                                 if template.ask_variables_on_launch or k in template.survey}
        given.update(artifacts or {})
        given.update(workflow_vars or {})
        jobs = []
        for number in range(1, template.job_slice_count + 1):
            jobs.append(self._job(template, inventory, given, number, template.job_slice_count))
        return jobs

    def _job(self, template: JobTemplate, stored: Dict[str, Any], given: Dict[str, Any], slice_number: int,
             slice_count: int) -> Outcome:
        ident, pdd = self._private_data_dir()
        env = self._base_env(pdd)
        env.update(JOB_ID=str(ident), INVENTORY_ID="1", ANSIBLE_RETRY_FILES_ENABLED="False")
        stored_env = self._inject_all(template.credentials, env, pdd)
        script = pdd / "inventory" / "hosts"
        data = json.dumps(script_data(stored, slice_number, slice_count))
        script.write_text("#! %s\nprint(%r)\n" % (ANSIBLE_BIN / "python", data))
        script.chmod(0o700)
        extra_vars = dict(template.extra_vars)
        extra_vars.update(given)
        extra_vars.update(awx_job_id=ident, awx_job_template_name=template.name, awx_job_launch_type="manual")
        (pdd / "env" / "extravars").write_text(extravars_yaml(extra_vars, template.extra_vars))
        args = ["-u", "root"]
        if template.job_type == "check":
            args.append("--check")
        if template.diff_mode:
            args.append("--diff")
        passwords = {}
        vaults = [c for c in template.credentials if isinstance(c, VaultCredential)]
        if vaults:
            args.append("--ask-vault-pass")
            passwords[r"Vault password:\s*?$"] = vaults[0].vault_password
        args.append("--forks=%d" % template.forks)
        if template.limit:
            args += ["-l", template.limit]
        if template.verbosity:
            args.append("-" + "v" * min(5, template.verbosity))
        (pdd / "env" / "cmdline").write_text(" ".join(args))
        run, events, stdout = self._run(ident, pdd, env, playbook=template.playbook, inventory=str(script),
                                        passwords=passwords)
        stats = [e for e in events if e.get("event") == "playbook_on_stats"]
        artifacts = stats[-1]["event_data"].get("artifact_data", {}) if stats else {}
        outcome = Outcome("job", ident, run.status, run.rc, pdd, events, stdout, stored_env, artifacts=artifacts,
                          extra_vars=extra_vars)
        self.runs.append(outcome)
        return outcome


IPV6_PORT = re.compile(r"^\[([A-Fa-f0-9:]{3,})\]:(\d+?)$")       # awx/main/utils/mem_inventory.py


def _host_name(name: Any) -> str:
    """``MemInventory.get_host``: a host name as the controller takes it (TypeError for anything but a string)."""
    match = IPV6_PORT.match(name)
    if match:
        return match.group(1)
    return name.split(":")[0] if name.count(":") == 1 else name


def _sanitize_jinja(name: str) -> str:
    """``awx.main.utils.safe_yaml.sanitize_jinja``, applied to the name of each host an import creates."""
    if re.search(r"\{\{[^}]+}}", name) or re.search(r"\{%[^%]+%}", name):
        raise ValueError("Inline Jinja variables are not allowed.: %s" % name)
    return name


def import_inventory(data: Dict[str, Any]) -> Dict[str, Any]:
    """What the controller stores of ``ansible-inventory --list`` JSON (``dict_to_mem_data``, then each host's and
    group's variables saved as JSON text and read back), in the shape ``get_script_data`` serves it."""
    data = json.loads(json.dumps(data))
    meta = data.pop("_meta", {})
    hosts: Dict[str, Dict[str, Any]] = {}
    groups: Dict[str, Dict[str, Any]] = {}
    for group_name, body in data.items():
        if not isinstance(group_name, str) or not isinstance(body, dict):
            continue
        group = groups.setdefault(group_name, {"hosts": [], "children": [], "vars": {}})
        for name in body.get("hosts", []):
            host = _host_name(name)
            hosts.setdefault(host, {})
            group["hosts"].append(host)
        for child in body.get("children", []):
            if child in ("all", "ungrouped"):      # a list holding a mapping fails here (unhashable)
                continue
            groups.setdefault(child, {"hosts": [], "children": [], "vars": {}})
            group["children"].append(child)
        group["vars"].update(body.get("vars", {}))
    for name, variables in meta.get("hostvars", {}).items():
        if name in hosts and isinstance(variables, dict):
            hosts[name].update(variables)
    stored: Dict[str, Any] = {}
    grouped = {h for g, body in groups.items() if g not in ("all", "ungrouped") for h in body["hosts"]}
    top = groups.get("all", {"vars": {}})
    stored["all"] = {"hosts": sorted(h for h in hosts if h not in grouped),
                     "children": sorted(g for g in groups if g not in ("all", "ungrouped"))}
    if top["vars"]:
        stored["all"]["vars"] = json.loads(json.dumps(top["vars"]))
    for group_name, body in groups.items():
        if group_name in ("all", "ungrouped"):
            continue
        item: Dict[str, Any] = {}
        if body["hosts"]:
            item["hosts"] = sorted(set(body["hosts"]))
        if body["children"]:
            item["children"] = sorted(set(body["children"]))
        if body["vars"]:
            item["vars"] = json.loads(json.dumps(body["vars"]))
        if item:
            stored[group_name] = item
    stored["_meta"] = {"hostvars": {_sanitize_jinja(name): json.loads(json.dumps(variables))
                                    for name, variables in sorted(hosts.items())}}
    return stored


def script_data(stored: Dict[str, Any], slice_number: int = 1, slice_count: int = 1) -> Dict[str, Any]:
    """The inventory script's JSON of a stored ``ansible-inventory --list`` output: hosts by name, sliced."""
    hostvars = stored["_meta"]["hostvars"]
    names = sorted(set(hostvars) | {h for g in stored.values() if isinstance(g, dict) for h in g.get("hosts", [])})
    if slice_count > 1:
        names = names[slice_number - 1::slice_count]
    data: Dict[str, Any] = {}
    for group, body in stored.items():
        if group == "_meta":
            continue
        item = {k: v for k, v in body.items() if k in ("children", "vars")}
        if "hosts" in body:
            item["hosts"] = [h for h in body["hosts"] if h in names]
        data[group] = item
    data["_meta"] = {"hostvars": {name: dict(hostvars.get(name, {}), remote_host_enabled="true", remote_host_id=number,
                                             remote_tower_enabled="true", remote_tower_id=number)
                                  for number, name in enumerate(names, 1)}}
    return data


def merged_artifacts(jobs: List[Outcome]) -> Dict[str, Any]:
    """The artifacts a workflow passes on from these jobs (slices): top-level keys merged, later jobs winning.

    As AWX does it (awx/main/models/workflow.py): a sliced job is a workflow job, whose ``get_effective_artifacts``
    ``dict.update``s the artifacts of its slice jobs ordered by finish time (then id); the next node's
    ``get_job_kwargs`` merges its parents' effective artifacts the same way and adds them to its extra variables.
    The slices here run one after the other, so they finish in slice order."""
    merged: Dict[str, Any] = {}
    for job in jobs:
        merged.update(job.artifacts)
    return merged


def plan_approval_apply(controller: Controller, plan: JobTemplate, apply: JobTemplate, inventory: Dict[str, Any],
                        approve: bool, workflow_vars: Optional[Dict[str, Any]] = None
                        ) -> Tuple[List[Outcome], List[Outcome]]:
    """A workflow job of three nodes: Plan, then (on success) an Approval node, then (on approval) Apply.

    The workflow's own variables go to every node whatever its prompts; the approval node passes on the artifacts
    of the nodes before it. Returns the jobs of Plan and of Apply (none when Plan failed or approval was denied).
    """
    plan_jobs = controller.launch(plan, inventory, workflow_vars=workflow_vars)
    if any(job.status != "successful" for job in plan_jobs) or not approve:
        return plan_jobs, []
    return plan_jobs, controller.launch(apply, inventory, artifacts=merged_artifacts(plan_jobs),
                                        workflow_vars=workflow_vars)


# -- nothing secret left behind --------------------------------------------------------------------------------
def walk_texts(private_data_dir: Path) -> Iterator[Tuple[str, str]]:
    """(relative path, text) of every file a run left, less the ``env`` mapping of ``artifacts/*/command``.

    ansible-runner writes ``artifacts/<ident>/command`` itself, the command line, the working directory and the
    whole process environment, which holds the injected credential by design (it is how the job gets it). The
    controller keeps only the masked environment (``Outcome.stored_env``, checked) and deletes the private data
    directory after the run. The command line and working directory are still checked.
    """
    for path in sorted(p for p in private_data_dir.rglob("*") if p.is_file()):
        relative = path.relative_to(private_data_dir).as_posix()
        if relative.startswith("project/"):
            continue          # the project's own files (the inventory, with its vaulted values)
        text = path.read_text(errors="replace")
        if re.fullmatch(r"artifacts/[^/]+/command", relative):
            data = json.loads(text)
            assert set(data) == {"command", "cwd", "env"}, relative
            text = json.dumps({"command": data["command"], "cwd": data["cwd"]})
        yield relative, text


def leaks(outcome: Outcome, secrets: List[str]) -> List[str]:
    """Where any of ``secrets`` appears in what a run left: events, stdout, stored environment and inventory,
    artifacts, extra variables, and every file of its private data directory."""
    secrets = [s for s in secrets if s]
    places = {"events": json.dumps(outcome.events), "stdout": outcome.stdout,
              "stored_env": json.dumps(outcome.stored_env), "artifacts": json.dumps(outcome.artifacts),
              "inventory": json.dumps(outcome.inventory), "extra_vars": json.dumps(outcome.extra_vars)}
    places.update(walk_texts(outcome.private_data_dir))
    return ["%s in %s" % (secret[:4] + "...", place) for place, text in places.items()
            for secret in secrets if secret in text]


def env_of(outcome: Outcome) -> Dict[str, str]:
    """The process environment the run had (ansible-runner's ``command`` artifact)."""
    [command] = list(outcome.private_data_dir.glob("artifacts/*/command"))
    return json.loads(command.read_text())["env"]
