"""Trust of plugin-supplied strings: plain strings trusted on ansible-core 2.19+, strings with braces never."""

from __future__ import annotations

import pytest
from cores import DATA_TAGGING

from ansible.utils.unsafe_proxy import AnsibleUnsafe

from ansible_collections.telphin.pbx.plugins.plugin_utils import _trust
from ansible_collections.telphin.pbx.plugins.plugin_utils._hostvars import unsafe

if DATA_TAGGING:
    from ansible.template import is_trusted_as_template

needs_data_tagging = pytest.mark.skipif(
    not DATA_TAGGING, reason="data tagging (trust_as_template, is_trusted_as_template) exists in ansible-core 2.19+")
PLAIN = ["Tenant 1", "", "000*100", "https://api.example.ru/x?a=1&b=2", "100%", "#"]
TEMPLATABLE = ["{{ 7 * 6 }}", "a}", "{", "{% if x %}", "{# c #}"]


def templated(value) -> bool:
    """Whether Ansible would template ``value``: trusted (2.19+), or not marked unsafe (before)."""
    if DATA_TAGGING:
        return is_trusted_as_template(value)
    return not isinstance(value, AnsibleUnsafe)


@needs_data_tagging
@pytest.mark.parametrize("text", PLAIN)
def test_strings_without_braces_are_trusted(text):
    value = _trust.trusted(text)
    assert value == text and is_trusted_as_template(value)


@needs_data_tagging
@pytest.mark.parametrize("text", TEMPLATABLE)
def test_strings_with_braces_are_left_untrusted(text):
    assert _trust.can_template(text)
    value = _trust.trusted(text)
    assert value == text and not is_trusted_as_template(value)


@pytest.mark.parametrize("text", PLAIN + TEMPLATABLE)
def test_only_braces_can_template(text):
    assert _trust.can_template(text) is (text in TEMPLATABLE)


def test_other_values_are_returned_as_they_are():
    for value in (5, None, True, 1.5):
        assert _trust.trusted(value) is value


def test_before_2_19_nothing_is_tagged(monkeypatch):
    monkeypatch.setattr(_trust, "_TRUST", None)
    text = "Tenant 1"
    assert _trust.trusted(text) is text


def test_the_tagging_is_there_exactly_where_ansible_core_has_it():
    assert (_trust._TRUST is not None) is DATA_TAGGING


def test_host_variables_are_trusted_except_where_a_template_could_hide():
    data = unsafe({"name": "Curly {{ x }}", "prefix": "020", "list": [{"label": "Desk }"}, "ok"], "id": 7})
    assert data == {"name": "Curly {{ x }}", "prefix": "020", "list": [{"label": "Desk }"}, "ok"], "id": 7}
    assert not templated(data["name"]) and not templated(data["list"][0]["label"])
    assert templated(data["prefix"]) and templated(data["list"][1])
    assert all(templated(key) for key in data)
