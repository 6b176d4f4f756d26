"""The modules' documentation against what the code accepts and returns, where ansible-test's validate-modules
cannot look: the item keys of ``bindings`` (checked by the engine, not by the argument spec), the aliases, the
``required_together`` of the app pair, and EXAMPLES made of tasks only."""

from __future__ import annotations

import importlib
from typing import Any, Dict

import pytest
import yaml

from ansible_collections.telphin.pbx.plugins.module_utils import _ansible as glue
from ansible_collections.telphin.pbx.plugins.module_utils._bulk import check_items
from ansible_collections.telphin.pbx.plugins.module_utils._phone import FIELDS

MODULES = sorted(glue.SPECS)
# How the engine's field kinds are documented: the type a user should give (see _phone.normalize).
DOC_TYPES = {"number": "str", "str": "str", "int": "int", "bool": "bool", "choice": "str", "countries": "list",
             "password": "str"}
PLAY_KEYS = {"hosts", "tasks", "roles", "pre_tasks", "post_tasks", "handlers", "gather_facts", "import_playbook"}


def doc(name: str, part: str = "DOCUMENTATION") -> Any:
    return yaml.safe_load(getattr(importlib.import_module("ansible_collections.telphin.pbx.plugins.modules." + name),
                                  part))


def test_bindings_item_keys_are_documented_as_the_engine_takes_them():
    suboptions: Dict[str, Dict[str, Any]] = doc("extension_phones")["options"]["bindings"]["suboptions"]
    assert set(suboptions) == set(FIELDS) | {"extension", "extension_id", "number_check"}
    assert suboptions["number_check"]["choices"] == glue.SPECS["extension_phones"].options["number_check"]["choices"]
    assert suboptions["extension"]["type"] == "str" and suboptions["extension_id"]["type"] == "int"
    for name, field in FIELDS.items():
        option = suboptions[name]
        assert option["type"] == DOC_TYPES[field.kind], name
        assert option.get("choices", []) == list(field.choices), name
        assert option.get("elements") == ("str" if field.kind == "countries" else None), name
        assert "default" not in option and not option.get("required") and not option.get("aliases"), name
        assert option["description"], name


def test_every_documented_item_key_is_accepted_and_an_unknown_one_refused():
    values = {"external_number": "+79001234567", "label": "Desk", "auth_type": "digest", "record_format": "wav_mono",
              "geo_list": ["RU"], "password": "Sip-Doc-1"}
    kinds = {"int": 1, "bool": True}
    for name, option in doc("extension_phones")["options"]["bindings"]["suboptions"].items():
        if name in ("extension", "extension_id", "number_check"):
            continue
        value = values.get(name, kinds.get(option["type"], "x"))
        for ref in ({"extension": "100"}, {"extension_id": 7}):
            checked, problems = check_items([dict(ref, **{name: value})], "always")
            assert problems == [] and name in checked[0]["desired"], (name, problems)
    _checked, problems = check_items([{"extension": "100", "label": "Desk", "lable": "typo"}], "always")
    assert problems == ["bindings[0] (extension 100): unknown key(s) lable; the keys are extension, extension_id, "
                        "number_check and the phone properties of telphin.pbx.extension_phone"]


@pytest.mark.parametrize("name", MODULES)
def test_aliases_match_the_argument_spec(name):
    options = doc(name)["options"]
    spec = glue.SPECS[name].argument_spec
    for option, entry in spec.items():
        assert sorted(options.get(option, {}).get("aliases", [])) == sorted(entry.get("aliases", [])), option
    if "extension_name" in spec:
        assert spec["extension_name"]["aliases"] == ["extension"]


@pytest.mark.parametrize("name", MODULES)
def test_the_app_pair_is_required_together(name):
    assert glue.SPECS[name].validator_kwargs()["required_together"] == [("app_id", "app_secret")]


@pytest.mark.parametrize("name", MODULES)
def test_examples_are_tasks_only(name):
    examples = doc(name, "EXAMPLES")
    assert isinstance(examples, list) and examples
    tasks = list(examples)
    while tasks:
        task = tasks.pop()
        assert isinstance(task, dict) and task.get("name") and not PLAY_KEYS & set(task), task
        tasks.extend(task.get("block", []))
