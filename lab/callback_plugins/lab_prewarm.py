"""Lab only, for speed: import the Jinja filters and tests once, before the workers fork.

Ansible forks a worker per task and host, and a worker imports each filter or test plugin
the task's templates name (this collection's, ansible.utils' ipaddr with netaddr, ...) on
its own: the import dies with the worker and the next task imports it again. Imported here,
in the controller's process, every worker inherits them. Nothing else changes.
Loaded without being enabled (on ANSIBLE_CALLBACK_PLUGINS by scripts/lab-env.sh).
"""
from __future__ import annotations

import importlib
import pkgutil

from ansible.plugins.callback import CallbackBase
from ansible.plugins.loader import action_loader, filter_loader, test_loader

DOCUMENTATION = """
    name: lab_prewarm
    type: aggregate
    short_description: imports filter and test plugins once, before the workers fork (lab only)
    description: [Imports ansible.builtin's filter, test and action plugins, this collection's
      filters, and the other collections' filters and tests it uses, in the controller's process.]
"""

# The other collections' filters and tests that the roles and playbooks use.
ALSO_FILTERS = ("ansible.utils.ipaddr", "ansible.utils.ipv4", "ansible.utils.ip_address",
                "ansible.utils.remove_keys", "community.general.dict_kv")
ALSO_TESTS = ("ansible.utils.ip",)


def own_filters() -> list[str]:
    """The FQCNs of fedisec.hardening's filters."""
    try:
        package = importlib.import_module("ansible_collections.fedisec.hardening.plugins.filter")
        modules = [importlib.import_module(f"{package.__name__}.{info.name}")
                   for info in pkgutil.iter_modules(package.__path__)]
    except ImportError:
        return []
    return [f"fedisec.hardening.{name}" for module in modules if hasattr(module, "FilterModule")
            for name in module.FilterModule().filters()]


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "lab_prewarm"
    CALLBACK_NEEDS_ENABLED = False

    def v2_playbook_on_start(self, playbook) -> None:
        for loader in (filter_loader, test_loader, action_loader):
            list(loader.all(class_only=True))
        wanted = [(filter_loader, name) for name in own_filters() + list(ALSO_FILTERS)]
        wanted += [(test_loader, name) for name in ALSO_TESTS]
        for loader, name in wanted:
            try:
                loader.get(name)
            except Exception:  # noqa: BLE001 (a plugin it cannot import only costs the speed-up)
                self._display.vvv(f"lab_prewarm: could not import {name}")
