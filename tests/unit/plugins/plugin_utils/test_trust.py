"""Trust of plugin-supplied strings: plain strings trusted on ansible-core 2.19+, strings with braces never."""

from __future__ import annotations

import pytest

from ansible.template import is_trusted_as_template

from ansible_collections.telphin.pbx.plugins.plugin_utils import _trust
from ansible_collections.telphin.pbx.plugins.plugin_utils._hostvars import unsafe


@pytest.mark.parametrize("text", ["Tenant 1", "", "000*100", "https://api.example.ru/x?a=1&b=2", "100%", "#"])
def test_strings_without_braces_are_trusted(text):
    value = _trust.trusted(text)
    assert value == text and is_trusted_as_template(value)


@pytest.mark.parametrize("text", ["{{ 7 * 6 }}", "a}", "{", "{% if x %}", "{# c #}"])
def test_strings_with_braces_are_left_untrusted(text):
    assert _trust.can_template(text)
    value = _trust.trusted(text)
    assert value == text and not is_trusted_as_template(value)


def test_other_values_are_returned_as_they_are():
    for value in (5, None, True, 1.5):
        assert _trust.trusted(value) is value


def test_before_2_19_nothing_is_tagged(monkeypatch):
    monkeypatch.setattr(_trust, "_TRUST", None)
    text = "Tenant 1"
    assert _trust.trusted(text) is text


def test_host_variables_are_trusted_except_where_a_template_could_hide():
    data = unsafe({"name": "Curly {{ x }}", "prefix": "020", "list": [{"label": "Desk }"}, "ok"], "id": 7})
    assert data == {"name": "Curly {{ x }}", "prefix": "020", "list": [{"label": "Desk }"}, "ok"], "id": 7}
    assert not is_trusted_as_template(data["name"]) and not is_trusted_as_template(data["list"][0]["label"])
    assert is_trusted_as_template(data["prefix"]) and is_trusted_as_template(data["list"][1])
    assert all(is_trusted_as_template(key) for key in data)
