"""The filters' EXAMPLES that write bindings as host_vars pin them to their client (issue 30 item 3).

A host_vars file named after the host holds a tenant's bindings; with host names from the tenants' editable names
the phone_bindings role refuses unpinned ones, and the security model says every export pins them. An example is
what dealers copy, so it writes the pin as telphin.pbx.export_bindings does.
"""

from __future__ import annotations

import importlib

import pytest
import yaml

FILTERS = ["merge_bindings", "phones_to_bindings", "to_unsafe_yaml"]


def tasks_writing_bindings(examples):
    """The example tasks that write phone_bindings into a host_vars file."""
    doc = yaml.safe_load(examples)
    tasks = doc if isinstance(doc, list) else []
    for task in tasks:
        copy = task.get("ansible.builtin.copy") if isinstance(task, dict) else None
        if copy and "host_vars" in str(copy.get("dest")) and "phone_bindings" in str(copy.get("content")):
            yield task


@pytest.mark.parametrize("name", FILTERS)
def test_an_example_writing_bindings_as_host_vars_pins_the_client(name):
    module = importlib.import_module("ansible_collections.telphin.pbx.plugins.filter.%s" % name)
    for task in tasks_writing_bindings(module.EXAMPLES):
        assert "'phone_bindings_client_id': telphin_client_id" in task["ansible.builtin.copy"]["content"], task


def test_the_check_finds_the_examples_it_checks():
    found = [name for name in FILTERS if list(tasks_writing_bindings(
        importlib.import_module("ansible_collections.telphin.pbx.plugins.filter.%s" % name).EXAMPLES))]
    assert found == ["phones_to_bindings", "to_unsafe_yaml"]
