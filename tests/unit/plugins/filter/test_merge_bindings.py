"""telphin.pbx.merge_bindings: lists of bindings merged by extension, as the module tells extensions apart."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.telphin.pbx.plugins.filter.merge_bindings import FilterModule, merge_bindings
from ansible_collections.telphin.pbx.plugins.module_utils._bulk import check_items

COMMON = [{"extension": "100", "label": "Reception", "record_format": "mp3_mono"},
          {"extension": "102", "record_enabled": True}]
SITE = [{"extension": "000*100", "external_number": "+7 987 654-32-10", "label": "Front desk"},
        {"extension": "101", "external_number": ""}]


def test_later_lists_win_per_key_and_each_extension_keeps_its_first_place():
    got = merge_bindings(COMMON, SITE)
    assert got == [{"extension": "000*100", "label": "Front desk", "record_format": "mp3_mono",
                    "external_number": "+7 987 654-32-10"},
                   {"extension": "102", "record_enabled": True},
                   {"extension": "101", "external_number": ""}]
    # the module takes the merged list (the plain concatenation is refused: the same extension twice)
    assert check_items(got, "always")[1] == []
    problems = check_items(COMMON + SITE, "always")[1]
    assert problems == ["bindings[2] (extension 000*100) names the same extension as bindings[0] (extension 100): "
                        "list it once (to compose lists, merge them by extension with telphin.pbx.merge_bindings)"]
    assert COMMON[0] == {"extension": "100", "label": "Reception", "record_format": "mp3_mono"}     # inputs untouched


def test_names_are_compared_as_the_module_compares_them():
    # a short name and a full name ending in it are one extension; two full names with other prefixes are two;
    # the fullest name given is kept; blanks around a name do not count, as in the module
    got = merge_bindings([{"extension": "000*100", "label": "a"}],
                         [{"extension": " 100", "label": "b"}, {"extension": "001*100", "label": "c"}])
    assert got == [{"extension": "000*100", "label": "b"}, {"extension": "001*100", "label": "c"}]
    # by id; an id and a name are not merged (the names do not tell), the module decides
    got = merge_bindings([{"extension_id": 46, "label": "a"}, {"extension": "100", "label": "n"}],
                         [{"extension_id": "46", "label": "b", "record_format": None}])
    assert got == [{"extension_id": "46", "label": "b", "record_format": None}, {"extension": "100", "label": "n"}]


def test_one_list_is_merged_too_and_three_lists_in_order():
    assert merge_bindings(COMMON + SITE)[0]["label"] == "Front desk"
    got = merge_bindings([{"extension": "100", "label": "a"}], [{"extension": "100", "label": "b"}],
                         [{"extension": "100", "label": "c", "external_number": ""}])
    assert got == [{"extension": "100", "label": "c", "external_number": ""}]
    assert merge_bindings([], []) == []


@pytest.mark.parametrize("lists, message", [
    (([{"extension": 101}],), "list 1 item 0: extension 101 is an integer, not a string"),
    (([], [{"label": "x"}]), "list 2 item 0: give exactly one of extension or extension_id"),
    (([{"extension": "100", "extension_id": 4}],), "list 1 item 0: give exactly one of extension or extension_id"),
    (([{"extension_id": "x"}],), "list 1 item 0: extension_id 'x' is not a positive integer"),
    (([{"extension": "../100"}],), "list 1 item 0: extension '../100' is not an extension name"),
    (([], ["100"]), "list 2 item 0 is not a mapping"),
    (([], None), "list 2 is a NoneType, not a list of bindings"),
    (({"extension": "100"},), "list 1 is a dict, not a list of bindings"),
])
def test_what_the_module_would_refuse_is_refused_naming_the_list_and_the_item(lists, message):
    with pytest.raises(AnsibleFilterError) as err:
        merge_bindings(*lists)
    assert str(err.value).startswith("telphin.pbx.merge_bindings: " + message)


def test_the_filter_is_registered_by_its_name():
    assert FilterModule().filters() == {"merge_bindings": merge_bindings}
