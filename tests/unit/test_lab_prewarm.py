"""The lab's prewarm callback (lab/callback_plugins/lab_prewarm.py): it asks the loaders for
every builtin filter, test and action plugin, this collection's filters and the other
collections' filters the roles use, and a filter it cannot import costs nothing but time."""
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lab" / "callback_plugins"))
import lab_prewarm  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


class FakeLoader:
    def __init__(self, broken=()):
        self.all_calls, self.got, self.broken = 0, [], set(broken)

    def all(self, class_only=False):
        assert class_only
        self.all_calls += 1
        return iter(())

    def get(self, name):
        self.got.append(name)
        if name in self.broken:
            raise ImportError(name)
        return object()


def test_own_filters_names_every_filter_of_the_collection():
    names = lab_prewarm.own_filters()
    assert "fedisec.hardening.postgresql_clients" in names
    assert "fedisec.hardening.chrony_sources" in names
    # One entry per filter that the collection's FilterModules define, none twice.
    assert len(names) == len(set(names)) > 20


def test_every_filter_and_test_the_roles_name_from_other_collections_is_prewarmed():
    used = set()
    for path in list((REPO / "roles").rglob("*.yml")) + list((REPO / "playbooks").rglob("*.yml")):
        # Filters: after a pipe or quoted in map()/select(); modules are task keys ("name:").
        text = path.read_text()
        used.update(re.findall(r"\|\s*((?:ansible\.utils|community\.general)\.[a-z0-9_]+)", text))
        used.update(re.findall(r"['\"]((?:ansible\.utils|community\.general)\.[a-z0-9_]+)['\"]", text))
    prewarmed = set(lab_prewarm.ALSO_FILTERS + lab_prewarm.ALSO_TESTS)
    assert used <= prewarmed, used - prewarmed


def test_the_playbook_start_loads_them_all_and_survives_a_broken_one(monkeypatch):
    filters, tests, actions = FakeLoader(broken={"community.general.dict_kv"}), FakeLoader(), FakeLoader()
    monkeypatch.setattr(lab_prewarm, "filter_loader", filters)
    monkeypatch.setattr(lab_prewarm, "test_loader", tests)
    monkeypatch.setattr(lab_prewarm, "action_loader", actions)
    callback = lab_prewarm.CallbackModule()
    callback.v2_playbook_on_start(None)
    assert (filters.all_calls, tests.all_calls, actions.all_calls) == (1, 1, 1)
    assert set(lab_prewarm.ALSO_FILTERS) <= set(filters.got)
    assert tests.got == list(lab_prewarm.ALSO_TESTS)
    assert "fedisec.hardening.postgresql_clients" in filters.got
