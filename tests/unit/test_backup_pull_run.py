"""Unit tests for the backup server's runner (roles/backup_pull/files/fedisec_backup_run.py), against fake
borg, ssh, rsync, pg_restore and psql executables in a temporary directory, and checks of the role's
interface (argument specs against defaults; the source side never touches the passphrase)."""
from __future__ import annotations

import fcntl
import json
import os
import re
import stat
import sys
from pathlib import Path

import importlib.util
import pytest
import yaml

ROLE = Path(__file__).resolve().parents[2] / "roles" / "backup_pull"
SOURCE = ROLE / "files" / "fedisec_backup_run.py"
spec = importlib.util.spec_from_file_location("fedisec_backup_run", SOURCE)
runner = importlib.util.module_from_spec(spec)
spec.loader.exec_module(runner)

PASSPHRASE = "correct horse battery staple, from a vault"

# A repository in a directory: archives are files under archives/, their order in index.
FAKE_BORG = r'''#!PYTHON
import fnmatch, json, os, subprocess, sys
args = sys.argv[1:]
log = os.environ["FAKE_DIR"] + "/borg.log"
with open(log, "a") as fh:
    fh.write(json.dumps({"argv": args, "cwd": os.getcwd(),
                         "passcommand": os.environ.get("BORG_PASSCOMMAND"),
                         "passphrase_in_env": "BORG_PASSPHRASE" in os.environ}) + "\n")
command = args[0]
assert args[1:3] == ["--lock-wait", "600"], args
args = [command] + args[3:]
def split(target):
    repo, _, name = target.partition("::")
    return repo, name
def names(repo):
    index = os.path.join(repo, "index")
    return open(index).read().split() if os.path.exists(index) else []
if command == "create":
    rest = args[1:]
    cmd = None
    if "--" in rest:
        cmd = rest[rest.index("--") + 1:]
        rest = rest[:rest.index("--")]
    stdin_name = rest[rest.index("--stdin-name") + 1] if "--stdin-name" in rest else "stdin"
    target = [a for a in rest if "::" in a][0]
    repo, name = split(target)
    if "--content-from-command" in rest:
        done = subprocess.run(cmd, stdout=subprocess.PIPE)
        if done.returncode != 0:
            sys.stderr.write(f"Command {cmd[0]!r} exited with status {done.returncode}\n")
            sys.exit(2)
        content = {stdin_name: done.stdout.decode()}
    else:
        content = {}
        for root, _, files in os.walk("."):
            for f in files:
                content[os.path.join(root, f)] = open(os.path.join(root, f)).read()
    if os.environ.get("FAKE_BORG_DROP"):
        sys.exit(0)
    os.makedirs(os.path.join(repo, "archives"), exist_ok=True)
    with open(os.path.join(repo, "archives", name), "w") as fh:
        json.dump(content, fh)
    with open(os.path.join(repo, "index"), "a") as fh:
        fh.write(name + "\n")
    sys.exit(int(os.environ.get("FAKE_BORG_CREATE_RC", "0")))
if command == "list":
    glob = args[args.index("--glob-archives") + 1]
    for name in names(args[-1]):
        if fnmatch.fnmatchcase(name, glob):
            print(name)
    sys.exit(0)
if command == "prune":
    sys.exit(int(os.environ.get("FAKE_BORG_PRUNE_RC", "0")))
if command == "compact":
    sys.exit(0)
if command == "extract":
    target = [a for a in args if "::" in a][0]
    repo, name = split(target)
    path = os.path.join(repo, "archives", name)
    if not os.path.exists(path):
        sys.exit(2)
    sys.stdout.write(json.load(open(path))[args[args.index(target) + 1]])
    sys.exit(0)
if command == "check":
    sys.exit(int(os.environ.get("FAKE_BORG_CHECK_RC", "0")))
sys.stderr.write(f"fake borg: unexpected command {command}\n")
sys.exit(2)
'''

# The forced command on the source answers with a dump of the database it was asked for.
FAKE_SSH = r'''#!/bin/sh
for last; do :; done
echo "$*" >> "$FAKE_DIR/ssh.log"
if [ -n "${FAKE_DUMP_FAIL:-}" ]; then
  printf 'PGDMP-partial'
  echo "pg_dump: error: connection to server failed" >&2
  exit 1
fi
printf 'PGDMP-fake-dump-of-%s' "$last"
'''

FAKE_RSYNC = r'''#!/bin/sh
for dest; do :; done
echo "$*" >> "$FAKE_DIR/rsync.log"
mkdir -p "$dest/etc/nginx"
echo "server {}" > "$dest/etc/nginx/nginx.conf"
exit "${FAKE_RSYNC_RC:-0}"
'''

FAKE_PG_RESTORE = r'''#!/bin/sh
echo "$*" >> "$FAKE_DIR/pg_restore.log"
cat > "$FAKE_DIR/restored"
case "$(head -c 5 "$FAKE_DIR/restored")" in
  PGDMP) ;;
  *) echo "pg_restore: error: input file does not appear to be a valid archive" >&2; exit 1 ;;
esac
exit "${FAKE_RESTORE_RC:-0}"
'''

FAKE_PSQL = r'''#!/bin/sh
while [ $# -gt 0 ]; do
  if [ "$1" = -c ]; then
    shift
    printf '%s\n' "$1" >> "$FAKE_DIR/psql.log"
    case "$1" in
      *pg_tables*) echo "${FAKE_TABLES:-3}" ;;
      SELECT*) echo "${FAKE_SQL_RESULT:-t}" ;;
    esac
  fi
  shift
done
'''


def executable(path: Path, text: str) -> str:
    path.write_text(text.replace("#!PYTHON", "#!" + sys.executable))
    path.chmod(0o755)
    return str(path)


@pytest.fixture
def lab(tmp_path, monkeypatch):
    """Fakes, keys, a known_hosts file, a passphrase file, an initialised repository and a settings file."""
    fakes = tmp_path / "fakes"
    fakes.mkdir()
    monkeypatch.setenv("FAKE_DIR", str(tmp_path))
    monkeypatch.setenv("BORG_PASSPHRASE", "must-not-reach-borg")
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    for name in ("FAKE_DUMP_FAIL", "FAKE_RSYNC_RC", "FAKE_TABLES", "FAKE_SQL_RESULT", "FAKE_BORG_DROP",
                 "FAKE_BORG_CREATE_RC", "FAKE_BORG_PRUNE_RC", "FAKE_BORG_CHECK_RC", "FAKE_RESTORE_RC"):
        monkeypatch.delenv(name, raising=False)
    etc = tmp_path / "etc"
    etc.mkdir(mode=0o700)
    for name in ("db_key", "files_key", "known_hosts"):
        (etc / name).write_text("fake\n")
    passphrase = etc / "passphrase"
    passphrase.write_text(PASSPHRASE)
    passphrase.chmod(0o600)
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "config").write_text("[repository]\n")
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    config = {
        "repository": str(repo),
        "staging": str(tmp_path / "staging"),
        "state_file": str(state_dir / "state.json"),
        "passphrase_file": str(passphrase),
        "borg_base_dir": str(tmp_path / "borg-base"),
        "known_hosts": str(etc / "known_hosts"),
        "keys": {"db": str(etc / "db_key"), "files": str(etc / "files_key")},
        "user": "fedisec-backup",
        "keep": {"daily": 7, "weekly": 4, "monthly": 6},
        "lock_wait_seconds": 0,
        "commands": {
            "borg": executable(fakes / "borg", FAKE_BORG),
            "ssh": executable(fakes / "ssh", FAKE_SSH),
            "rsync": executable(fakes / "rsync", FAKE_RSYNC),
            "pg_restore": executable(fakes / "pg_restore", FAKE_PG_RESTORE),
            "psql": executable(fakes / "psql", FAKE_PSQL),
        },
        "drill": {"as_admin": [], "as_restore": [], "sql": ["SELECT count(*) > 0 FROM accounts"]},
        "sources": [{"host": "fedi", "address": "192.0.2.10", "dump": True, "databases": ["mastodon_production"]}],
    }
    (tmp_path / "staging").mkdir(mode=0o700)

    class Lab:
        path = tmp_path
        settings = config

        def write(self, cfg: dict | None = None) -> str:
            target = tmp_path / "config.json"
            target.write_text(json.dumps(cfg if cfg is not None else self.settings))
            return str(target)

        def run(self, *args: str) -> int:
            return runner.main(["--config", self.write(), *(args or ("run",))])

        def state(self) -> dict:
            return json.loads(Path(self.settings["state_file"]).read_text())

        def borg_calls(self) -> list[dict]:
            log = tmp_path / "borg.log"
            return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

        def archives(self) -> list[str]:
            index = repo / "index"
            return index.read_text().split() if index.exists() else []

        def log(self, name: str) -> str:
            path = tmp_path / name
            return path.read_text() if path.exists() else ""

    return Lab()


ARCHIVE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")


def test_success_writes_ok_state(lab, capfd):
    assert lab.run() == 0
    state = lab.state()
    assert state["ok"] is True and state["error"] is None and state["errors"] == []
    assert state["last_success"] == state["finished"]
    db = state["sources"]["fedi"]["databases"]["mastodon_production"]
    files = state["sources"]["fedi"]["files"]
    assert db["ok"] and db["rc"] == 0 and db["archive"].startswith("fedi-db-mastodon_production-")
    assert ARCHIVE.search(db["archive"])
    assert files["ok"] and files["rsync_rc"] == 0 and files["archive"].startswith("fedi-files-")
    assert lab.archives() == [db["archive"], files["archive"]]
    drill = state["drill"]["fedi/mastodon_production"]
    assert drill["ok"] and drill["tables"] == 3 and drill["archive"] == db["archive"]
    assert drill["sql"] == [{"sql": "SELECT count(*) > 0 FROM accounts", "rc": 0, "result": "t", "ok": True}]
    assert all(r["ok"] for r in state["prune"].values()) and state["compact"]["ok"]
    # The dump was streamed over ssh with the db key, asking for the database by name.
    ssh = lab.log("ssh.log").splitlines()
    assert len(ssh) == 1 and "-i " + lab.settings["keys"]["db"] in ssh[0]
    assert ssh[0].endswith("192.0.2.10 mastodon_production")
    assert "StrictHostKeyChecking=yes" in ssh[0] and "UserKnownHostsFile=" + lab.settings["known_hosts"] in ssh[0]
    # The drill restored what the source sent, into the scratch database, and dropped it.
    assert lab.log("restored") == "PGDMP-fake-dump-of-mastodon_production"
    assert "--dbname fedisec_restoredrill" in lab.log("pg_restore.log")
    psql = lab.log("psql.log").splitlines()
    assert psql[-1] == "DROP DATABASE IF EXISTS fedisec_restoredrill WITH (FORCE)"
    assert any(line.startswith("ALTER ROLE fedisec_restoredrill LOGIN NOSUPERUSER") for line in psql)
    # Files: rsync with the files key into the staging directory, archived from there.
    rsync = lab.log("rsync.log")
    assert "-i " + lab.settings["keys"]["files"] in rsync and "fedisec-backup@192.0.2.10:." in rsync
    create_files = [c for c in lab.borg_calls() if c["argv"][0] == "create" and "--content-from-command" not in c["argv"]]
    assert create_files[0]["cwd"] == os.path.join(lab.settings["staging"], "fedi")
    # Prune per series, each with its own glob and the keep rules.
    prunes = [c["argv"] for c in lab.borg_calls() if c["argv"][0] == "prune"]
    globs = sorted(p[p.index("--glob-archives") + 1] for p in prunes)
    assert all(p[:3] == ["prune", "--lock-wait", "600"] for p in prunes)
    assert globs == sorted([runner.series_glob("fedi-db-mastodon_production-"), runner.series_glob("fedi-files-")])
    assert all(["--keep-daily", "7", "--keep-weekly", "4", "--keep-monthly", "6"] == p[5:11] for p in prunes)
    # borg reads the passphrase through the command only, never from the environment; no init.
    calls = lab.borg_calls()
    assert all(c["passcommand"] == "cat " + lab.settings["passphrase_file"] for c in calls)
    assert not any(c["passphrase_in_env"] for c in calls)
    assert not any(c["argv"][0] == "init" for c in calls)
    out = capfd.readouterr()
    assert PASSPHRASE not in out.out + out.err + json.dumps(state)
    assert stat.S_IMODE(os.stat(lab.settings["state_file"]).st_mode) == 0o640
    # No drill leftovers.
    assert os.listdir(os.path.join(lab.settings["staging"], ".drill")) == []


def test_dump_failure_fails_the_run_and_stores_nothing(lab, monkeypatch, capfd):
    monkeypatch.setenv("FAKE_DUMP_FAIL", "1")
    assert lab.run() == 1
    state = lab.state()
    assert state["ok"] is False
    db = state["sources"]["fedi"]["databases"]["mastodon_production"]
    assert db["ok"] is False and db["archive"] is None and db["rc"] == 2
    assert "no archive stored" in db["error"]
    assert state["error"] is not None and "database mastodon_production" in " ".join(state["errors"])
    # No (truncated) dump in the repository; the files still went in.
    assert [a for a in lab.archives() if "-db-" in a] == []
    assert state["sources"]["fedi"]["files"]["ok"] is True
    # Prune and compact ran, but the drill of an older archive does not stand in for this run.
    drill = state["drill"]["fedi/mastodon_production"]
    assert drill["ok"] is False and "not run" in drill["error"]
    assert lab.log("pg_restore.log") == ""
    assert state["last_success"] is None
    # The source's own message reaches the journal.
    assert "pg_dump: error" in capfd.readouterr().err


def test_failure_keeps_the_last_success(lab, monkeypatch):
    assert lab.run() == 0
    first = lab.state()["last_success"]
    monkeypatch.setenv("FAKE_DUMP_FAIL", "1")
    assert lab.run() == 1
    assert lab.state()["last_success"] == first


def test_archive_missing_after_rc_0_is_a_failure(lab, monkeypatch):
    monkeypatch.setenv("FAKE_BORG_DROP", "1")
    assert lab.run() == 1
    db = lab.state()["sources"]["fedi"]["databases"]["mastodon_production"]
    assert db["ok"] is False and "is not in the repository" in db["error"]


def test_borg_warning_is_recorded_but_succeeds(lab, monkeypatch):
    monkeypatch.setenv("FAKE_BORG_CREATE_RC", "1")
    assert lab.run() == 0
    db = lab.state()["sources"]["fedi"]["databases"]["mastodon_production"]
    assert db["ok"] and db["rc"] == 1 and db["warnings"]


def test_drill_without_tables_fails(lab, monkeypatch):
    monkeypatch.setenv("FAKE_TABLES", "0")
    assert lab.run() == 1
    state = lab.state()
    drill = state["drill"]["fedi/mastodon_production"]
    assert drill["ok"] is False and drill["tables"] == 0 and "no table" in drill["error"]
    # The backups themselves went in; the scratch database was dropped anyway.
    assert state["sources"]["fedi"]["databases"]["mastodon_production"]["ok"] is True
    assert lab.log("psql.log").splitlines()[-1].startswith("DROP DATABASE IF EXISTS fedisec_restoredrill")


def test_drill_sql_must_return_true(lab, monkeypatch):
    monkeypatch.setenv("FAKE_SQL_RESULT", "f")
    assert lab.run() == 1
    drill = lab.state()["drill"]["fedi/mastodon_production"]
    assert drill["ok"] is False and drill["sql"][0]["result"] == "f" and "one row holding true" in drill["error"]


def test_restore_failure_fails(lab, monkeypatch):
    monkeypatch.setenv("FAKE_RESTORE_RC", "1")
    assert lab.run() == 1
    assert "pg_restore exited with 1" in lab.state()["drill"]["fedi/mastodon_production"]["error"]


def test_rsync_failure_stores_no_files_archive(lab, monkeypatch):
    monkeypatch.setenv("FAKE_RSYNC_RC", "23")
    assert lab.run() == 1
    files = lab.state()["sources"]["fedi"]["files"]
    assert files["ok"] is False and files["rsync_rc"] == 23 and files["archive"] is None
    assert [a for a in lab.archives() if "-files-" in a] == []


def test_rsync_vanished_files_is_a_warning(lab, monkeypatch):
    monkeypatch.setenv("FAKE_RSYNC_RC", "24")
    assert lab.run() == 0
    files = lab.state()["sources"]["fedi"]["files"]
    assert files["ok"] and files["warnings"]


def test_prune_failure_fails(lab, monkeypatch):
    monkeypatch.setenv("FAKE_BORG_PRUNE_RC", "2")
    assert lab.run() == 1
    assert not any(r["ok"] for r in lab.state()["prune"].values())


def test_missing_repository_stops_before_pulling(lab):
    os.unlink(os.path.join(lab.settings["repository"], "config"))
    assert lab.run() == 1
    state = lab.state()
    assert state["ok"] is False and "no borg repository" in state["error"]
    assert lab.borg_calls() == [] and lab.log("ssh.log") == ""


def test_readable_passphrase_file_is_refused(lab):
    os.chmod(lab.settings["passphrase_file"], 0o644)
    assert lab.run() == 1
    assert "readable by others" in lab.state()["error"]


def test_files_only_source(lab):
    lab.settings["sources"] = [{"host": "static.example.org", "address": "2001:db8::5", "port": 2222}]
    assert lab.run() == 0
    state = lab.state()
    assert state["sources"]["static.example.org"]["databases"] == {} and state["drill"] == {}
    rsync = lab.log("rsync.log")
    assert "fedisec-backup@[2001:db8::5]:." in rsync and "-p 2222" in rsync


def test_several_sources_and_databases(lab):
    lab.settings["sources"] = [
        {"host": "fedi", "address": "192.0.2.10", "dump": True, "databases": ["mastodon_production", "other_db"]},
        {"host": "www", "address": "www.example.org"},
    ]
    lab.settings["drill"]["sql"] = []
    assert lab.run() == 0
    state = lab.state()
    assert set(state["drill"]) == {"fedi/mastodon_production", "fedi/other_db"}
    assert sorted(line.split()[-1] for line in lab.log("ssh.log").splitlines()) == ["mastodon_production", "other_db"]
    assert len(state["prune"]) == 4


def test_check_records_its_result_next_to_the_run(lab, monkeypatch):
    assert lab.run() == 0
    assert lab.run("check") == 0
    state = lab.state()
    assert state["ok"] and state["check"]["ok"] and state["check"]["verify_data"] is False
    monkeypatch.setenv("FAKE_BORG_CHECK_RC", "1")
    assert lab.run("check", "--verify-data") == 1
    check = lab.state()["check"]
    assert check["ok"] is False and check["rc"] == 1 and check["verify_data"] is True
    assert lab.borg_calls()[-1]["argv"] == ["check", "--lock-wait", "600", "--verify-data", lab.settings["repository"]]
    # The next run keeps the check's record.
    assert lab.run() == 0 and lab.state()["check"]["rc"] == 1


@pytest.mark.parametrize("wait", [0, 1])
def test_a_run_waits_for_the_lock_then_gives_up(lab, capsys, wait):
    lab.settings["lock_wait_seconds"] = wait
    with open(lab.settings["state_file"] + ".lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        assert lab.run() == 2
        assert lab.run("check") == 2
    assert "still holds the lock" in capsys.readouterr().err
    assert lab.borg_calls() == [] and not os.path.exists(lab.settings["state_file"])


@pytest.mark.parametrize("change, message", [
    (lambda c: c.pop("keys"), "missing field(s) ['keys']"),
    (lambda c: c.pop("repository"), "missing field(s) ['repository']"),
    (lambda c: c.update(extra=1), "unknown field(s) ['extra']"),
    (lambda c: c["keys"].pop("db"), "keys must be an object with exactly the fields db and files"),
    (lambda c: c["sources"][0].update(host="../etc"), "sources[0].host must be a host name"),
    (lambda c: c["sources"][0].update(host="fedi host"), "sources[0].host must be a host name"),
    (lambda c: c["sources"][0].pop("host"), "sources[0].host must be a host name"),
    (lambda c: c["sources"][0].update(address="a;b"), "sources[0].address must be a DNS name or an IP address"),
    (lambda c: c["sources"][0].update(port=0), "sources[0].port must be a port number"),
    (lambda c: c["sources"][0].update(databases=["Mastodon"]), "sources[0].databases[0] must be a database name"),
    (lambda c: c["sources"][0].update(databases=[]), "dump is true but databases is empty"),
    (lambda c: c["sources"][0].update(dump="yes"), "sources[0].dump must be true or false"),
    (lambda c: c["sources"].append(dict(c["sources"][0])), "sources name a host twice"),
    (lambda c: c["sources"].extend([{"host": "fedi-db"}]) or c["sources"][0].update(databases=["files"]),
     "archive names would clash (fedi-db-files-)"),
    (lambda c: c.update(staging="relative/dir"), "staging must be an absolute path"),
    (lambda c: c.update(repository="/var/backups/../etc"), "repository must be an absolute path"),
    (lambda c: c.update(keep={"daily": 0}), "keep must keep something"),
    (lambda c: c.update(keep={"hourly": 1}), "keep must be an object"),
    (lambda c: c.update(user="root; rm"), "user must be a user name"),
    (lambda c: c["drill"].update(database="drill; DROP"), "drill.database must be a database or role name"),
    (lambda c: c["drill"].update(sql=[""]), "drill.sql must be a list of non-empty SQL statements"),
    (lambda c: c["commands"].update(borg="borg"), "commands.borg must be an absolute path"),
])
def test_bad_config_is_refused_with_a_clear_message(lab, capsys, change, message):
    change(lab.settings)
    path = lab.write()
    assert runner.main(["check-config", path]) == 2
    err = capsys.readouterr().err
    assert message in err and path in err
    assert runner.main(["--config", path, "run"]) == 2
    assert lab.borg_calls() == [] and not os.path.exists(lab.settings.get("state_file", "/nonexistent/x"))


def test_config_that_is_not_json(lab, capsys):
    path = lab.path / "config.json"
    path.write_text("{not json")
    assert runner.main(["check-config", str(path)]) == 2
    assert str(path) in capsys.readouterr().err


def test_good_config_passes_check(lab):
    assert runner.main(["check-config", lab.write()]) == 0


def test_series_globs_do_not_reach_other_series():
    import fnmatch
    stamp = "2025-01-02T03:04:05"
    sources = [{"host": "fedi", "databases": ["mastodon"]}, {"host": "fedi-db-mastodon", "databases": []},
               {"host": "fedi-files", "databases": []}]
    names = {p: p + stamp for s in sources for p in runner.series_prefixes(s).values()}
    for prefix in names:
        matched = [n for n in names.values() if fnmatch.fnmatchcase(n, runner.series_glob(prefix))]
        assert matched == [names[prefix]]
        assert fnmatch.fnmatchcase(names[prefix] + ".checkpoint", runner.series_glob(prefix))


# --------------------------------------------------------------------------- the role's interface


def test_argument_specs_match_the_defaults():
    specs = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    assert set(specs) == {"main", "server_key", "source_user", "source", "server"}
    options = {}
    for entry in specs.values():
        for name, option in (entry.get("options") or {}).items():
            assert name.startswith("backup_pull_"), name
            options.setdefault(name, []).append(option)
    assert set(defaults) <= set(options), set(defaults) - set(options)
    for name, found in options.items():
        for option in found:
            if "default" in option:
                assert defaults.get(name) == option["default"], name
            elif not option.get("required") and not option.get("no_log"):
                assert name in defaults, name


def test_the_source_side_never_touches_the_passphrase_or_the_repository():
    source_files = [ROLE / "tasks" / name for name in ("source.yml", "source_user.yml")]
    source_files += sorted((ROLE / "tasks").glob("source-*.yml"))
    text = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    for entry in ("source", "source_user"):
        assert not {"backup_pull_passphrase", "backup_pull_repository"} & set(text[entry]["options"])
    imported = set()
    for path in source_files:
        content = path.read_text()
        for word in ("passphrase", "backup_pull_repository", "borg"):
            assert word not in content, (path, word)
        imported |= set(re.findall(r"src: ([\w.-]+\.j2)", content))
    assert imported
    for template in imported:
        content = (ROLE / "templates" / template).read_text()
        for word in ("passphrase", "backup_pull_repository", "borg"):
            assert word not in content, (template, word)


def test_readme_names_every_variable_and_entry_point():
    specs = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    readme = (ROLE / "README.md").read_text()
    for entry, spec in specs.items():
        if entry != "main":
            assert f"### `{entry}`" in readme, entry
        for name in spec.get("options") or {}:
            assert f"`{name}`" in readme, name
