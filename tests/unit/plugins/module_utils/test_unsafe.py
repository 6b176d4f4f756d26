"""Values read from the API stay data in the YAML the collection writes for Ansible to read back (issue 19)."""

from __future__ import annotations

import datetime

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

try:
    from ansible.template import trust_as_template
except ImportError:         # ansible-core < 2.19: every string of a playbook is a template
    def trust_as_template(value):
        return value

from ansible_collections.telphin.pbx.plugins.filter.to_unsafe_yaml import to_unsafe_yaml
from ansible_collections.telphin.pbx.plugins.module_utils._safety import backup_text
from ansible_collections.telphin.pbx.plugins.module_utils._unsafe import can_template, yaml_block, yaml_scalar
from ansible_collections.telphin.pbx.plugins.plugin_utils import _hostvars, _trust

WHEN = datetime.datetime(2026, 11, 29, 18, 0, 5)
HOSTILE = [
    '{{ lookup("pipe", "touch MARKER") }}',
    "{% if lookup('pipe', 'touch MARKER') %}{% endif %}x",
    "{# c #}{{ 7 * 6 }}",
    "lone } and { braces",
]
ODD = ["Приёмная \"A\" \\ 'b'", "a\u2028b\u2029c\x85d", "\x7f\x9f\ufeff\uffff", "tab\tcr\rnl\nnul\0", "😀",
       "", " lead", "yes", "0123", "#x", "- y", "a: b", "null", "~", "@me", "!unsafe x", "*x", "&y"]


def read_back(text, tmp_path, monkeypatch):
    """What Ansible makes of a file of variables: loaded by its YAML loader, then templated as a play would."""
    monkeypatch.chdir(tmp_path)
    data = DataLoader().load(text)
    return Templar(loader=DataLoader(), variables=data).template(trust_as_template("{{ phone_bindings }}")), data


@pytest.mark.parametrize("value", HOSTILE + ODD)
def test_a_scalar_read_back_by_ansible_is_the_exact_string(value, tmp_path, monkeypatch):
    text = "phone_bindings:\n  - label: %s\n" % yaml_scalar(value)
    templated, loaded = read_back(text, tmp_path, monkeypatch)
    assert loaded["phone_bindings"][0]["label"] == value
    assert templated[0]["label"] == value
    assert not (tmp_path / "MARKER").exists()
    assert text.startswith("phone_bindings:\n  - label: !unsafe \"") is can_template(value)


def test_backup_text_tags_template_strings_unsafe_and_restores_them_exactly(tmp_path, monkeypatch):
    entries = [("010*%d" % (100 + i), {"label": value, "external_number": None})
               for i, value in enumerate(HOSTILE + ODD)] + [("{{ 6 * 7 }}", {"label": "x"})]
    text = backup_text("1001", WHEN, entries, text_keys=("label", "external_number"))
    assert '    label: !unsafe "{{ lookup(\\"pipe\\", \\"touch MARKER\\") }}"' in text
    templated = read_back(text, tmp_path, monkeypatch)[0]
    assert templated == [{"extension": name, "label": values["label"], "external_number": ""}
                         for name, values in entries[:-1]] + [{"extension": "{{ 6 * 7 }}", "label": "x"}]
    assert not (tmp_path / "MARKER").exists()


def test_the_filter_writes_a_host_vars_document_ansible_reads_as_data(tmp_path, monkeypatch):
    bindings = [{"extension": "10%d" % i, "external_number": "+7900000000%d" % i, "label": value,
                 "record_enabled": bool(i % 2), "hold_music": i, "geo_list": ["RU", "{BY}"]}
                for i, value in enumerate(HOSTILE + ODD)]
    text = to_unsafe_yaml({"phone_bindings": bindings})
    assert text.startswith("---\nphone_bindings:\n  - extension: \"100\"\n")
    templated = read_back(text, tmp_path, monkeypatch)[0]
    assert templated == bindings
    assert not (tmp_path / "MARKER").exists()


def test_empty_values_and_nesting():
    assert yaml_block({"phone_bindings": []}) == ["phone_bindings: []"]
    assert yaml_block({"a": {}, "b": {"c": [1, None, True]}}) == ["a: {}", "b:", "  c:", "    - 1", "    - null",
                                                                  "    - true"]
    assert yaml_scalar({"on": "{x}"}) == '{"on": !unsafe "{x}"}'
    with pytest.raises(TypeError, match="cannot write a set as YAML"):
        yaml_scalar({1, 2})


def test_one_rule_for_files_and_the_inventory():
    """The inventory plugin's host variables are marked by the same function that tags the files."""
    assert _hostvars.can_template is can_template and _trust.can_template is can_template
