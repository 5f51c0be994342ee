"""The benchmark's role timer (lab/callback_plugins/lab_role_time.py): host-seconds per role,
written only when FEDISEC_ROLE_TIME_OUT names a file."""
import json
import sys
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lab" / "callback_plugins"))
import lab_role_time  # noqa: E402


class Role:
    def __init__(self, name):
        self.name = name

    def get_name(self, include_role_fqcn=True):
        return f"fedisec.hardening.{self.name}" if include_role_fqcn else self.name


def host(name):
    return SimpleNamespace(get_name=lambda: name)


def task(uuid, role=None):
    return SimpleNamespace(_uuid=uuid, _role=Role(role) if role else None)


def result(host_name, a_task):
    return SimpleNamespace(_host=host(host_name), _task=a_task)


def test_it_sums_each_roles_tasks_over_hosts_and_names_the_rest_playbook(tmp_path, monkeypatch):
    out = tmp_path / "roles.json"
    monkeypatch.setenv("FEDISEC_ROLE_TIME_OUT", str(out))
    clock = iter([0.0, 1.0, 3.0, 4.0, 10.0, 10.5])
    monkeypatch.setattr(lab_role_time.time, "monotonic", lambda: next(clock))
    callback = lab_role_time.CallbackModule()
    nginx, loose = task("t1", "nginx_tls"), task("t2")
    callback.v2_runner_on_start(host("fedi"), nginx)        # 0.0
    callback.v2_runner_on_start(host("fedi2"), nginx)       # 1.0
    callback.v2_runner_on_ok(result("fedi", nginx))         # 3.0: 3 s
    callback.v2_runner_on_skipped(result("fedi2", nginx))   # 4.0: 3 s
    callback.v2_runner_on_start(host("fedi"), loose)        # 10.0
    callback.v2_runner_on_failed(result("fedi", loose))     # 10.5: 0.5 s
    callback.v2_runner_on_ok(result("db", nginx))           # never started: not counted
    callback.v2_playbook_on_stats(None)
    assert json.loads(out.read_text()) == {"(playbook)": 0.5, "nginx_tls": 6.0}


def test_without_the_variable_it_records_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv("FEDISEC_ROLE_TIME_OUT", raising=False)
    monkeypatch.chdir(tmp_path)
    callback = lab_role_time.CallbackModule()
    callback.v2_runner_on_start(host("fedi"), task("t1", "firewall"))
    callback.v2_runner_on_ok(result("fedi", task("t1", "firewall")))
    callback.v2_playbook_on_stats(None)
    assert callback.seconds == {} and list(tmp_path.iterdir()) == []
