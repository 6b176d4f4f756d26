"""The documentation: antsibull-docs' collection lint, the guides' index, and the troubleshooting guide's
messages against the code, so a changed message cannot leave the guide describing one that no longer exists."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import List

import pytest
import yaml

from harness import COLLECTIONS_ROOT

ROOT = Path(__file__).resolve().parents[2]
DOCSITE = ROOT / "docs" / "docsite"
LABEL = ".. _ansible_collections.telphin.pbx.docsite.%s:"


def test_antsibull_docs_lint_collection_docs(tmp_path):
    bin_dir = str(Path(sys.executable).parent)
    antsibull = shutil.which("antsibull-docs", path=os.pathsep.join([bin_dir, os.environ.get("PATH", "")]))
    if antsibull is None:
        pytest.skip("antsibull-docs is not installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    # antsibull-docs runs ansible-doc: the one beside this Python, on the linked checkout.
    env.update(PATH=bin_dir + os.pathsep + env.get("PATH", ""), ANSIBLE_HOME=str(tmp_path / "ansible-home"),
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"))
    collection = Path(COLLECTIONS_ROOT) / "ansible_collections" / "telphin" / "pbx"
    proc = subprocess.run([antsibull, "lint-collection-docs", "--plugin-docs", "--check-extra-docs-refs",
                           str(collection)], capture_output=True, text=True, env=env, timeout=600, check=False)
    assert proc.returncode == 0 and proc.stdout.strip() == "", proc.stdout + proc.stderr


def test_every_guide_is_listed_once_and_labelled():
    extra = yaml.safe_load((DOCSITE / "extra-docs.yml").read_text())
    listed = [name for section in extra["sections"] for name in section["toctree"]]
    guides = sorted(p.stem for p in (DOCSITE / "rst").glob("*.rst"))
    assert sorted(listed) == guides and len(set(listed)) == len(listed)
    for name in guides:
        assert (DOCSITE / "rst" / (name + ".rst")).read_text().splitlines()[0] == LABEL % name


def code_strings() -> List[str]:
    """Every string constant of the plugins (implicit concatenation joined by the parser), with %-placeholders
    turned into NUL so that a quoted piece cannot span one; plus Ansible's missing-library message."""
    from ansible.module_utils.basic import missing_required_lib
    found = [missing_required_lib("requests")]
    for path in (ROOT / "plugins").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.append(re.sub(r"%(\([a-z_]+\))?[-#0 +]*\d*(\.\d+)?[sdrf]", "\0", node.value))
    return found


def guide_messages() -> List[str]:
    """The messages the troubleshooting guide quotes: its definition-list terms and the listed problem lines."""
    messages = []
    for line in (DOCSITE / "rst" / "troubleshooting.rst").read_text().splitlines():
        if line.startswith("``") or re.match(r"^\s+\* ``", line):
            messages.extend(re.findall(r"``(.+?)``", line))
    return messages


# ansible-core's own messages, which the guide quotes to say what they mean for this collection.
CORE_MESSAGES = ("UNREACHABLE!",)


def option_names() -> List[str]:
    """The option names a message may carry in either words: the module's, or the role's variables (_words.ROLE)."""
    tree = ast.parse((ROOT / "plugins" / "module_utils" / "_words.py").read_text())
    constants = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Tuple):
            constants[node.targets[0].id] = [e.value for e in node.value.elts]
    names = {"bindings", "phone_bindings", "client_id", "telphin_client_id"}
    names.update(constants["_ROLE_OPTIONS"] + ["phone_bindings_" + o for o in constants["_ROLE_OPTIONS"]])
    names.update(constants["CONNECTION"] + ["telphin_" + o for o in constants["CONNECTION"]])
    return sorted(names, key=len, reverse=True)


def in_either_words(text: str, names: List[str]) -> str:
    """``text`` with every option name (and its one-run ``-e name=`` or item ``name[`` form) as a placeholder: a
    message the guide quotes in the role's words matches the code, which names options through _words."""
    text = re.sub(r"\b(%s)\b" % "|".join(map(re.escape, names)), "\0", text)
    return re.sub(r"-e \0=|\0\[", "\0", text)


def test_troubleshooting_quotes_messages_the_code_sends():
    names = option_names()
    strings = [in_either_words(s, names) for s in code_strings()]
    messages = [m for m in guide_messages() if not any(core in m for core in CORE_MESSAGES)]
    assert len(messages) > 40
    missing = []
    for message in messages:
        # Pieces between placeholders (<...>) and between the clauses of a message; short ones are too common
        # to prove anything.
        for fragment in re.split(r"<[^>]*>", message):
            for piece in re.split(r": |; | \(|\)", fragment):
                piece = piece.strip(" ,.;:()")
                if len(piece.split()) >= 4 and not any(in_either_words(piece, names) in s for s in strings):
                    missing.append((message, piece))
    assert missing == [], "\n".join(map(repr, missing))


def test_getting_starteds_first_task_runs_as_written(emulator_factory, playbook, tmp_path):
    """The guide's first playbook, copied as it stands, with the environment it says to export: the check run
    writes nothing, the run binds the number, a second run changes nothing."""
    from harness import api_calls, tenant_world
    from tests.reliability.lib import TENANT_SECRET, phones

    text = (DOCSITE / "rst" / "getting_started.rst").read_text()
    match = re.search(r"\.\. code-block:: yaml\n    :caption: first_task\.yml\n\n((?:    .*\n|\n)+)", text)
    assert match, "getting_started.rst has no first_task.yml"
    book = tmp_path / "first_task.yml"
    book.write_text(textwrap.dedent(match.group(1)))
    assert "export TELPHIN_APP_ID=<App ID> TELPHIN_APP_SECRET=<App Secret>" in text
    emu = emulator_factory(tenant_world())
    env = {"TELPHIN_API_URL": emu.url, "TELPHIN_APP_ID": "tenant1-app", "TELPHIN_APP_SECRET": TENANT_SECRET % 1}
    check = playbook(book, None, "--check", "--diff", env=env)
    assert check.rc == 0 and "changed=1" in check.stdout, check.output
    assert api_calls(emu.requests(clear=True), "PUT") == []
    run = playbook(book, None, env=env)
    assert run.rc == 0 and "changed=1" in run.stdout, run.output
    assert phones(emu.state())[1]["external_number"] == "+79876543210"
    assert playbook(book, None, env=env).stdout.count("changed=0") == 1
