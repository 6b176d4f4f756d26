"""Values read from the API stay data in the YAML the collection writes for Ansible to read back (issues 19, 30).

Every string, whatever it holds, is inside an ``!unsafe`` mapping or list: each template trigger of ansible-core
(tests/triggers.py) comes back as the exact string on the core under test, while the same text written without
the tag is templated there.
"""

from __future__ import annotations

import datetime
import inspect
import os

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.release import __version__
from ansible.template import Templar

try:
    from ansible.template import trust_as_template
except ImportError:         # ansible-core < 2.19: every string of a playbook is a template
    def trust_as_template(value):
        return value

from ansible_collections.telphin.pbx.plugins.filter.to_unsafe_yaml import to_unsafe_yaml
from ansible_collections.telphin.pbx.plugins.module_utils import _unsafe
from ansible_collections.telphin.pbx.plugins.module_utils._safety import backup_text
from ansible_collections.telphin.pbx.plugins.module_utils._unsafe import yaml_document, yaml_scalar
from tests.triggers import TRIGGERS
from tests.unsafe_yaml import untagged

CORE = ".".join(__version__.split(".")[:2])
WHEN = datetime.datetime(2026, 11, 29, 18, 0, 5)
HOSTILE = [
    '{{ lookup("pipe", "touch MARKER") }}',
    "{% if lookup('pipe', 'touch MARKER') %}{% endif %}x",
    "{# c #}{{ 7 * 6 }}",
    "lone } and { braces",
    "#jinja2:variable_start_string:'[[', variable_end_string:']]'\n[[ lookup('pipe', 'touch MARKER') ]]",
]
ODD = ["Приёмная \"A\" \\ 'b'", "a\u2028b\u2029c\x85d", "\x7f\x9f\ufeff\uffff", "tab\tcr\rnl\nnul\0", "😀",
       "", " lead", "yes", "0123", "#x", "- y", "a: b", "null", "~", "@me", "!unsafe x", "*x", "&y"]
LONG_KEY = "k" * 1100


def load_trusted(text, tmp_path):
    """``text`` as Ansible loads a file of variables (``-e @file``, ``host_vars``): trusted on 2.19+."""
    path = tmp_path / "vars.yml"
    path.write_text(text, encoding="utf-8")
    trusted = "trusted_as_template" in inspect.signature(DataLoader.load_from_file).parameters
    return DataLoader().load_from_file(str(path), **({"trusted_as_template": True} if trusted else {}))


def read_back(text, tmp_path, monkeypatch, name="phone_bindings"):
    """What Ansible makes of a file of variables: loaded as ``-e @file`` is, then templated as a play would."""
    monkeypatch.chdir(tmp_path)
    data = load_trusted(text, tmp_path)
    return Templar(loader=DataLoader(), variables=data).template(trust_as_template("{{ %s }}" % name)), data


def strings_in(text):
    """How many double-quoted scalars the document holds."""
    return sum(isinstance(e, yaml.ScalarEvent) and e.style == '"' for e in yaml.parse(text, Loader=yaml.SafeLoader))


@pytest.mark.parametrize("value", HOSTILE + ODD)
def test_a_scalar_read_back_by_ansible_is_the_exact_string(value, tmp_path, monkeypatch):
    text = "phone_bindings: %s\n" % yaml_scalar([{"label": value}])
    templated, loaded = read_back(text, tmp_path, monkeypatch)
    assert loaded["phone_bindings"][0]["label"] == value
    assert templated[0]["label"] == value
    assert not (tmp_path / "MARKER").exists()
    assert text.startswith("phone_bindings: !unsafe [!unsafe {\"label\": \"")     # whatever the string holds


@pytest.mark.parametrize("trigger", TRIGGERS, ids=[t.id for t in TRIGGERS])
def test_each_template_trigger_is_data_when_tagged_and_a_template_when_not(trigger, tmp_path, monkeypatch):
    """The writer's output gives back the exact string on this core; the same string written without the tag
    (a double-quoted scalar, as ``to_nice_yaml`` writes it) is templated here if the trigger fires on this core:
    the control that proves the test can fail."""
    marker = tmp_path / "MARKER"
    value = trigger.text(str(marker))
    text = yaml_document({"label": value})
    assert text.startswith("--- !unsafe\n") and untagged(text) == []
    templated, loaded = read_back(text, tmp_path, monkeypatch, "label")
    assert loaded["label"] == value and templated == value and not marker.exists()

    os.environ["TELPHIN_APP_SECRET"] = "planted-secret"
    try:
        plain = text.replace("--- !unsafe", "---")
        untagged_value = read_back(plain, tmp_path, monkeypatch, "label")[0]
        outcome = "exact" if untagged_value == value else "changed"
    except Exception:  # pylint: disable=broad-exception-caught
        outcome = "failed"
    finally:
        del os.environ["TELPHIN_APP_SECRET"]
    fired = marker.exists() if trigger.runs else outcome != "exact"
    assert fired is (CORE in trigger.fires), (outcome, marker.exists())


@pytest.mark.parametrize("trigger", TRIGGERS, ids=[t.id for t in TRIGGERS])
def test_a_trigger_as_a_key_stays_the_exact_key(trigger, tmp_path, monkeypatch):
    """Keys are never templated by ansible-core, but ``dict2items`` makes a key a value: tagged, it stays data."""
    marker = tmp_path / "MARKER"
    key = trigger.text(str(marker))
    text = yaml_document({"phone_bindings": [{"extension": "100", key: "x"}]})
    monkeypatch.chdir(tmp_path)
    data = load_trusted(text, tmp_path)
    items = Templar(loader=DataLoader(), variables=data).template(
        trust_as_template("{{ phone_bindings[0] | dict2items | map(attribute='key') | list }}"))
    assert sorted(items) == sorted(["extension", key]) and not marker.exists()


def test_backup_text_tags_every_string_and_restores_them_exactly(tmp_path, monkeypatch):
    entries = [("010*%d" % (100 + i), {"label": value, "external_number": None})
               for i, value in enumerate(HOSTILE + ODD)] + [("{{ 6 * 7 }}", {"label": "x"})]
    text = backup_text("1001", WHEN, entries, text_keys=("label", "external_number"))
    assert '    "label": "{{ lookup(\\"pipe\\", \\"touch MARKER\\") }}"' in text
    assert untagged(text) == [] and strings_in(text) > 3 * len(entries)
    templated = read_back(text, tmp_path, monkeypatch)[0]
    assert templated == [{"extension": name, "label": values["label"], "external_number": ""}
                         for name, values in entries[:-1]] + [{"extension": "{{ 6 * 7 }}", "label": "x"}]
    assert not (tmp_path / "MARKER").exists()


def test_the_filter_writes_a_host_vars_document_ansible_reads_as_data(tmp_path, monkeypatch):
    bindings = [{"extension": "10%d" % i, "external_number": "+7900000000%d" % i, "label": value,
                 "record_enabled": bool(i % 2), "hold_music": i, "geo_list": ["RU", "{BY}"]}
                for i, value in enumerate(HOSTILE + ODD)]
    text = to_unsafe_yaml({"phone_bindings": bindings})
    assert text.startswith("--- !unsafe\n\"phone_bindings\": !unsafe\n  - !unsafe\n    \"extension\": \"100\"\n")
    assert untagged(text) == [] and strings_in(text) > 100
    templated = read_back(text, tmp_path, monkeypatch)[0]
    assert templated == bindings
    assert not (tmp_path / "MARKER").exists()


def test_the_filters_documented_sample_is_what_it_writes(tmp_path, monkeypatch):
    # the sample is what a person copies when editing such a file by hand: it must show the tags where they are
    from ansible_collections.telphin.pbx.plugins.filter import to_unsafe_yaml as module
    sample = yaml.safe_load(module.RETURN)["_value"]["sample"]
    data = {"phone_bindings": [{"extension": "100", "label": "{{ 7 * 6 }}"}]}
    assert sample == to_unsafe_yaml(data)
    assert read_back(sample, tmp_path, monkeypatch)[0] == data["phone_bindings"]


def test_a_key_longer_than_yaml_allows_implicitly_is_written_explicitly(tmp_path, monkeypatch):
    """YAML limits an implicit key to 1024 characters: such a key is written ``? key`` in blocks and flows."""
    data = {"phone_bindings": [{"extension": "100", LONG_KEY: "v", "nested": {LONG_KEY: [1, {LONG_KEY: "w"}]}},
                               {LONG_KEY: {"a": "b"}}]}
    text = to_unsafe_yaml(data)
    assert "    ? \"%s\"\n    : \"v\"\n" % LONG_KEY in text
    assert "  - !unsafe\n    ? \"%s\"\n    : !unsafe\n      \"a\": \"b\"\n" % LONG_KEY in text
    assert untagged(text) == []
    assert read_back(text, tmp_path, monkeypatch)[0] == data["phone_bindings"]
    flow = "phone_bindings: %s\n" % yaml_scalar(data["phone_bindings"])
    assert "{? \"%s\": " % LONG_KEY in flow
    assert read_back(flow, tmp_path, monkeypatch)[0] == data["phone_bindings"]
    # the implicit form of the same key does not load: what 1.1.0 wrote
    with pytest.raises(Exception, match="mapping values are not allowed|Colons in unquoted values"):
        load_trusted('phone_bindings:\n  - "%s": "v"\n' % LONG_KEY, tmp_path)


def test_multibyte_keys_are_measured_in_bytes():
    assert not _unsafe.explicit(yaml_scalar("я" * 490))          # 980 bytes and the quotes
    assert _unsafe.explicit(yaml_scalar("я" * 600))              # 600 characters, 1200 bytes
    assert _unsafe.explicit(yaml_scalar("k" * 1000)) and not _unsafe.explicit(yaml_scalar("k" * 980))


def test_empty_values_and_nesting():
    assert yaml_document({"phone_bindings": []}) == '--- !unsafe\n"phone_bindings": !unsafe []\n'
    assert yaml_document({"a": {}, "b": {"c": [1, None, True]}}).splitlines() == [
        "--- !unsafe", '"a": !unsafe {}', '"b": !unsafe', '  "c": !unsafe', "    - 1", "    - null", "    - true"]
    assert yaml_scalar({"on": "{x}", 5: "plain"}) == '!unsafe {"on": "{x}", 5: "plain"}'
    assert yaml_document("100") == '--- !unsafe "100"\n'
    with pytest.raises(TypeError, match="cannot write a set as YAML"):
        yaml_scalar({1, 2})
    with pytest.raises(TypeError, match="cannot write a tuple as a YAML key"):
        yaml_scalar({(1, 2): "x"})


def test_no_content_test_is_left():
    """No function decides by a string's content whether it may be a template (issue 30)."""
    assert not hasattr(_unsafe, "can_template") and not hasattr(_unsafe, "TEMPLATE_CHARS")
