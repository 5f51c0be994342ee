#!/usr/bin/python3
"""fedisec-backup-run: the pull backup of fedisec.hardening's backup server (role backup_pull).

Run by fedisec-backup.timer (`run`) and fedisec-backup-check.timer (`check`).  Its settings
are /etc/fedisec-backup/config.json (written by the role).  The sources hold no repository
credentials: this host pulls from them over SSH with its own keys, and every source's
authorized_keys forces the command each key may run.

`run`, for each source in turn:

1. each database: `borg create --content-from-command` runs `ssh ... -i db_key` whose forced
   command on the source streams `pg_dump -Fc` of that database.  borg stores no archive when
   the command fails, so a broken dump never becomes a truncated archive; the archive is then
   looked up in the repository all the same;
2. files: `rsync -a --delete` over `ssh ... -i files_key` (the source's forced command offers
   a read-only view of its configured paths) into the staging directory of the source, then
   `borg create` of that directory;

then `borg prune` per series (each database of each source, the files of each source) with
the keep rules, `borg compact`, and the restore drill: the newest archive of each database is
extracted to a private file, restored into a scratch database by a role without superuser
rights, counted (at least one table in schema public) and checked with the configured SQL
(each statement returns one row holding true); the scratch database is dropped.

The result goes to the state file (JSON, written atomically): start and end, per source and
database the archive names and exit codes, the drill's results, `ok` and the errors.  Any
failure makes the exit code 1 (the unit fails and its OnFailure= mail goes out).

`check` runs `borg check` (with `--verify-data` if asked) and records it in the same file.
`check-config FILE` validates a settings file (Ansible's validate).

The passphrase never passes through this program: borg reads it with BORG_PASSCOMMAND from a
root-only file.  Output goes to stdout/stderr (the journal).
Exit: 0 everything succeeded, 1 a step failed (see the state file and the journal),
2 bad settings or another run holds the lock.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import fcntl
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any, Iterator

DEFAULT_CONFIG = "/etc/fedisec-backup/config.json"
EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2
# Archive names end in this timestamp (UTC); the glob matches it and nothing else, so a
# series' glob never reaches another series (host names hold no ':').
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S"
TIMESTAMP_GLOB = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]"
# rsync: 24 = some source files vanished during the transfer (a file deleted meanwhile).
RSYNC_VANISHED = 24

HOST_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,251}[A-Za-z0-9])?")
DNS_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
DNS_RE = re.compile(rf"{DNS_LABEL}(?:\.{DNS_LABEL})*")
IDENTIFIER_RE = re.compile(r"[a-z_][a-z0-9_]{0,62}")
UNIX_NAME_RE = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
# Paths go into ssh and rsync command lines (rsync splits -e on spaces): no spaces, quotes,
# shell characters or '..'.
PATH_RE = re.compile(r"/[A-Za-z0-9._/+@%=:,-]*")

TOP_FIELDS = {
    "repository", "staging", "state_file", "passphrase_file", "borg_base_dir", "known_hosts",
    "keys", "user", "keep", "compression", "sources", "drill", "commands", "ssh_options", "lock_wait_seconds",
}
REQUIRED_TOP = {"repository", "staging", "state_file", "passphrase_file", "known_hosts", "keys", "user", "keep",
                "sources"}
SOURCE_FIELDS = {"host", "address", "port", "dump", "databases"}
KEEP_FIELDS = ("daily", "weekly", "monthly", "yearly")
COMMANDS = {
    "borg": "/usr/bin/borg",
    "ssh": "/usr/bin/ssh",
    "rsync": "/usr/bin/rsync",
    "pg_restore": "/usr/bin/pg_restore",
    "psql": "/usr/bin/psql",
}
DRILL_DEFAULTS: dict[str, Any] = {
    "enabled": True,
    "database": "fedisec_restoredrill",
    "role": "fedisec_restoredrill",
    # Prefixes: the scratch database is created and dropped as the cluster's superuser; the
    # dump is restored and queried as the drill role, which is no superuser (a dump from a
    # compromised source then cannot run programs here through COPY ... PROGRAM).
    "as_admin": ["/usr/sbin/runuser", "-u", "postgres", "--"],
    "as_restore": ["/usr/sbin/runuser", "-u", "fedisec_restoredrill", "--"],
    "admin_database": "postgres",
    "sql": [],
}
SSH_OPTIONS = [
    "-o", "BatchMode=yes",
    "-o", "StrictHostKeyChecking=yes",
    "-o", "IdentitiesOnly=yes",
    "-o", "HostKeyAlgorithms=ssh-ed25519",
    "-o", "GlobalKnownHostsFile=/dev/null",
    "-o", "ConnectTimeout=30",
    "-o", "ServerAliveInterval=30",
    "-o", "ServerAliveCountMax=4",
]


class ConfigError(Exception):
    """The settings are missing a field or hold a bad value."""


class StepFailed(Exception):
    """One step failed; the run goes on with the next one and ends as failed."""


def log(level: str, msg: str) -> None:
    # Under systemd (JOURNAL_STREAM set) a <N> prefix gives the line its journal priority.
    prefix = {"error": "<3>", "warning": "<4>", "info": "<6>"}[level] if os.environ.get("JOURNAL_STREAM") else ""
    label = "" if level == "info" else f"{level.upper()}: "
    stream = sys.stdout if level == "info" else sys.stderr
    print(f"{prefix}fedisec-backup-run: {label}{msg}", file=stream, flush=True)


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def iso(when: dt.datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


# --------------------------------------------------------------------------- settings


def _path(value: Any, where: str) -> str:
    if not isinstance(value, str) or not PATH_RE.fullmatch(value) or ".." in value.split("/"):
        raise ConfigError(f"{where} must be an absolute path of letters, digits and ._/+@%=:,- without a "
                          f"'..' component, got {value!r}")
    return value


def _address(value: Any, where: str) -> str:
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            ipaddress.ip_address(value)
            return value
        if len(value) <= 253 and DNS_RE.fullmatch(value):
            return value
    raise ConfigError(f"{where} must be a DNS name or an IP address, got {value!r}")


def _command(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(part, str) and part for part in value):
        raise ConfigError(f"{where} must be a list of non-empty strings, got {value!r}")
    return value


def _validate_source(raw: Any, where: str) -> dict:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be an object")
    unknown = set(raw) - SOURCE_FIELDS
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {sorted(unknown)}")
    host = raw.get("host")
    if not isinstance(host, str) or not HOST_RE.fullmatch(host) or ".." in host:
        raise ConfigError(f"{where}.host must be a host name of letters, digits, '.', '_' and '-' that starts and "
                          f"ends with a letter or digit (no '..'), got {host!r}")
    address = _address(raw.get("address", host), f"{where}.address")
    port = raw.get("port", 22)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ConfigError(f"{where}.port must be a port number, got {port!r}")
    dump = raw.get("dump", False)
    if not isinstance(dump, bool):
        raise ConfigError(f"{where}.dump must be true or false, got {dump!r}")
    databases = raw.get("databases", [])
    if not isinstance(databases, list):
        raise ConfigError(f"{where}.databases must be a list")
    for i, name in enumerate(databases):
        if not isinstance(name, str) or not IDENTIFIER_RE.fullmatch(name):
            raise ConfigError(f"{where}.databases[{i}] must be a database name (lower-case letters, digits and '_', "
                              f"not starting with a digit, at most 63 characters), got {name!r}")
    if len(set(databases)) != len(databases):
        raise ConfigError(f"{where}.databases names a database twice")
    if dump and not databases:
        raise ConfigError(f"{where}: dump is true but databases is empty")
    return {"host": host, "address": address, "port": port, "dump": dump,
            "databases": list(databases) if dump else []}


def validate_config(raw: Any, where: str = "config") -> dict:
    """Checks the settings and returns them with defaults filled in; raises ConfigError naming the field."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be an object")
    unknown = set(raw) - TOP_FIELDS
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {sorted(unknown)}")
    missing = REQUIRED_TOP - set(raw)
    if missing:
        raise ConfigError(f"{where}: missing field(s) {sorted(missing)}")
    cfg: dict[str, Any] = {}
    for field in ("repository", "staging", "state_file", "passphrase_file", "known_hosts"):
        cfg[field] = _path(raw[field], f"{where}: {field}")
    cfg["borg_base_dir"] = _path(raw.get("borg_base_dir", "/var/lib/fedisec-backup/borg"), f"{where}: borg_base_dir")
    keys = raw["keys"]
    if not isinstance(keys, dict) or set(keys) != {"db", "files"}:
        raise ConfigError(f"{where}: keys must be an object with exactly the fields db and files")
    cfg["keys"] = {kind: _path(keys[kind], f"{where}: keys.{kind}") for kind in ("db", "files")}
    user = raw["user"]
    if not isinstance(user, str) or not UNIX_NAME_RE.fullmatch(user):
        raise ConfigError(f"{where}: user must be a user name (lower-case letters, digits, '_' and '-', "
                          f"at most 32 characters), got {user!r}")
    cfg["user"] = user
    keep = raw["keep"]
    if not isinstance(keep, dict) or set(keep) - set(KEEP_FIELDS):
        raise ConfigError(f"{where}: keep must be an object with the fields {', '.join(KEEP_FIELDS)}")
    for field, value in keep.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"{where}: keep.{field} must be a whole number from 0, got {value!r}")
    if not any(keep.values()):
        raise ConfigError(f"{where}: keep must keep something (borg prune needs at least one rule above 0)")
    cfg["keep"] = {field: keep.get(field, 0) for field in KEEP_FIELDS}
    compression = raw.get("compression", "zstd,3")
    if not isinstance(compression, str) or not re.fullmatch(r"[a-z0-9]+(,[a-z0-9]+)*", compression):
        raise ConfigError(f"{where}: compression must be a borg compression spec such as zstd,3, got {compression!r}")
    cfg["compression"] = compression
    lock_wait = raw.get("lock_wait_seconds", 6 * 3600)
    if isinstance(lock_wait, bool) or not isinstance(lock_wait, int) or lock_wait < 0:
        raise ConfigError(f"{where}: lock_wait_seconds must be a whole number from 0, got {lock_wait!r}")
    cfg["lock_wait_seconds"] = lock_wait
    commands = raw.get("commands", {})
    if not isinstance(commands, dict) or set(commands) - set(COMMANDS):
        raise ConfigError(f"{where}: commands may only name {', '.join(sorted(COMMANDS))}")
    cfg["commands"] = {name: _path(commands.get(name, default), f"{where}: commands.{name}")
                       for name, default in COMMANDS.items()}
    ssh_options = raw.get("ssh_options", [])
    cfg["ssh_options"] = _command(ssh_options, f"{where}: ssh_options") if ssh_options else []
    for option in cfg["ssh_options"]:
        if not re.fullmatch(r"[A-Za-z0-9=/._:,+@-]+", option):
            raise ConfigError(f"{where}: ssh_options: {option!r} holds a space or a shell character")
    drill = raw.get("drill", {})
    if not isinstance(drill, dict) or set(drill) - set(DRILL_DEFAULTS):
        raise ConfigError(f"{where}: drill may only have the fields {', '.join(sorted(DRILL_DEFAULTS))}")
    cfg["drill"] = dict(DRILL_DEFAULTS, **drill)
    if not isinstance(cfg["drill"]["enabled"], bool):
        raise ConfigError(f"{where}: drill.enabled must be true or false")
    for field in ("database", "role", "admin_database"):
        if not isinstance(cfg["drill"][field], str) or not IDENTIFIER_RE.fullmatch(cfg["drill"][field]):
            raise ConfigError(f"{where}: drill.{field} must be a database or role name, got {cfg['drill'][field]!r}")
    for field in ("as_admin", "as_restore"):
        value = cfg["drill"][field]
        if value != []:
            _command(value, f"{where}: drill.{field}")
    sql = cfg["drill"]["sql"]
    if not isinstance(sql, list) or not all(isinstance(s, str) and s.strip() for s in sql):
        raise ConfigError(f"{where}: drill.sql must be a list of non-empty SQL statements")
    if not isinstance(raw["sources"], list):
        raise ConfigError(f"{where}: sources must be a list")
    cfg["sources"] = [_validate_source(s, f"{where}: sources[{i}]") for i, s in enumerate(raw["sources"])]
    hosts = [s["host"] for s in cfg["sources"]]
    if len(set(hosts)) != len(hosts):
        raise ConfigError(f"{where}: sources name a host twice")
    # Every series (one per database and source, one for each source's files) has a name
    # prefix of its own: prune never reaches another series' archives.
    prefixes = [p for s in cfg["sources"] for p in series_prefixes(s).values()]
    clash = sorted({p for p in prefixes if prefixes.count(p) > 1})
    if clash:
        raise ConfigError(f"{where}: sources: archive names would clash ({', '.join(clash)}): rename a host")
    return cfg


def load_config(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as fh:
            return validate_config(json.load(fh), path)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}") from None


def series_prefixes(source: dict) -> dict[str, str]:
    """Archive name prefixes: ('db', name) -> '<host>-db-<name>-', ('files',) -> '<host>-files-'."""
    out = {f"db:{db}": f"{source['host']}-db-{db}-" for db in source["databases"]}
    out["files"] = f"{source['host']}-files-"
    return out


def series_glob(prefix: str) -> str:
    # The trailing '*' takes in borg's checkpoint archives of the series (NAME.checkpoint).
    return prefix + TIMESTAMP_GLOB + "*"


# --------------------------------------------------------------------------- state


def read_state(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as fh:
            state = json.load(fh)
        return state if isinstance(state, dict) else {}
    except (OSError, ValueError):
        return {}


def write_state(path: str, state: dict) -> None:
    """Replaces the state file atomically (a reader sees the old or the new one, whole)."""
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".state-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(state, fh, indent=2, sort_keys=True)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o640)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@contextlib.contextmanager
def locked(state_file: str, wait_seconds: int) -> Iterator[None]:
    """One run or check at a time: waits up to wait_seconds for the one in progress."""
    with open(state_file + ".lock", "a", encoding="utf-8") as fh:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise ConfigError(f"another fedisec-backup-run (a run or a check) still holds the lock after "
                                      f"{wait_seconds} s") from None
                log("info", "waiting for the run or check in progress")
                time.sleep(min(30.0, max(0.0, deadline - time.monotonic())))
        yield


# --------------------------------------------------------------------------- the run


class Runner:
    def __init__(self, cfg: dict, started: dt.datetime | None = None):
        self.cfg = cfg
        self.cmd = cfg["commands"]
        self.repo = cfg["repository"]
        self.started = started or now_utc()
        self.stamp = self.started.strftime(TIMESTAMP_FORMAT)
        self.errors: list[str] = []
        self.env = dict(os.environ)
        # borg asks for the passphrase only through this command; a passphrase in the
        # environment would win over it.
        for name in ("BORG_PASSPHRASE", "BORG_PASSPHRASE_FD", "BORG_NEW_PASSPHRASE", "BORG_REPO"):
            self.env.pop(name, None)
        self.env.update({
            "BORG_PASSCOMMAND": f"cat {cfg['passphrase_file']}",
            "BORG_BASE_DIR": cfg["borg_base_dir"],
            # Never answer yes to borg's safety questions: a moved or unencrypted repository,
            # or a check that repairs, stops the run instead.
            "BORG_RELOCATED_REPO_ACCESS_IS_OK": "no",
            "BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK": "no",
            "BORG_CHECK_I_KNOW_WHAT_I_AM_DOING": "NO",
            "BORG_DELETE_I_KNOW_WHAT_I_AM_DOING": "NO",
            "LANG": "C.UTF-8",
        })

    # ----------------------------------------------------------------- helpers

    def fail(self, where: str, msg: str) -> str:
        text = f"{where}: {msg}"
        self.errors.append(text)
        log("error", text)
        return text

    def execute(self, argv: list[str], *, capture: bool = False, stdin: Any = subprocess.DEVNULL,
                stdout: Any = None, cwd: str | None = None) -> subprocess.CompletedProcess:
        """Runs a command (stderr to the journal); with capture, returns its stdout as text."""
        log("info", "running " + " ".join(argv))
        try:
            return subprocess.run(argv, env=self.env, check=False, text=capture, cwd=cwd, stdin=stdin,
                                  stdout=subprocess.PIPE if capture else stdout)
        except OSError as exc:
            raise StepFailed(f"cannot run {argv[0]}: {exc.strerror}") from None

    def borg(self, args: list[str], **kwargs: Any) -> subprocess.CompletedProcess:
        # Waits for a lock someone else holds on the repository (borg commands by hand).
        return self.execute([self.cmd["borg"], args[0], "--lock-wait", "600", *args[1:]], **kwargs)

    def ssh(self, source: dict, key: str) -> list[str]:
        return [self.cmd["ssh"], "-F", "/dev/null", "-T",
                "-o", f"UserKnownHostsFile={self.cfg['known_hosts']}", *SSH_OPTIONS, *self.cfg["ssh_options"],
                "-i", key, "-p", str(source["port"]), "-l", self.cfg["user"], source["address"]]

    def list_series(self, prefix: str) -> list[str]:
        """The archives of one series, oldest first (borg lists by time)."""
        done = self.borg(["list", "--short", "--glob-archives", series_glob(prefix), self.repo], capture=True)
        if done.returncode != 0:
            raise StepFailed(f"borg list exited with {done.returncode}")
        return [line for line in done.stdout.splitlines() if line]

    def created(self, prefix: str, name: str, rc: int, record: dict) -> None:
        """borg create's verdict: 0 done, 1 done with warnings, 2 and above nothing stored."""
        record["rc"] = rc
        if rc >= 2 or rc < 0:
            raise StepFailed(f"borg create exited with {rc}: no archive stored")
        if rc == 1:
            record["warnings"].append("borg create exited with 1 (warnings, see the journal)")
        if name not in self.list_series(prefix):
            raise StepFailed(f"borg create exited with {rc}, but {name} is not in the repository")
        record["archive"] = name

    # ----------------------------------------------------------------- steps

    def preflight(self) -> None:
        problems = []
        if not os.path.isfile(os.path.join(self.repo, "config")):
            problems.append(f"no borg repository at {self.repo} (the role creates it; it is never created here)")
        try:
            mode = os.stat(self.cfg["passphrase_file"]).st_mode
            if mode & 0o077:
                problems.append(f"{self.cfg['passphrase_file']} is readable by others than its owner")
        except OSError as exc:
            problems.append(f"passphrase file: {exc.strerror}: {self.cfg['passphrase_file']}")
        for path in (self.cfg["known_hosts"], *self.cfg["keys"].values()):
            if not os.path.isfile(path):
                problems.append(f"missing {path}")
        if problems:
            raise StepFailed("; ".join(problems))

    def dump(self, source: dict, database: str, record: dict) -> None:
        prefix = series_prefixes(source)[f"db:{database}"]
        name = prefix + self.stamp
        # The forced command on the source takes the database's name as its one request and
        # dumps nothing else; a failing pg_dump or ssh makes borg fail without an archive.
        done = self.borg(["create", "--compression", self.cfg["compression"],
                          "--content-from-command", "--stdin-name", f"{database}.pgdump",
                          f"{self.repo}::{name}", "--", *self.ssh(source, self.cfg["keys"]["db"]), database])
        self.created(prefix, name, done.returncode, record)

    def files(self, source: dict, record: dict) -> None:
        prefix = series_prefixes(source)["files"]
        name = prefix + self.stamp
        staging = os.path.join(self.cfg["staging"], source["host"])
        os.makedirs(staging, mode=0o700, exist_ok=True)
        address = f"[{source['address']}]" if ":" in source["address"] else source["address"]
        ssh = self.ssh(source, self.cfg["keys"]["files"])[:-1]  # rsync names the host itself
        # Owners by number (the source's users need not exist here); no device or special
        # files: a source cannot create device nodes on this host; no setuid or setgid bit
        # either (the service may not set them: RestrictSUIDSGID), so none is archived.
        done = self.execute([self.cmd["rsync"], "-a", "--delete", "--numeric-ids", "--no-devices", "--no-specials",
                             "--chmod=ug-s", "-e", " ".join(ssh), f"{self.cfg['user']}@{address}:.", staging + "/"])
        record["rsync_rc"] = done.returncode
        if done.returncode == RSYNC_VANISHED:
            record["warnings"].append("rsync: some files vanished while they were copied (exit 24)")
        elif done.returncode != 0:
            raise StepFailed(f"rsync exited with {done.returncode}: no files archive stored this run")
        done = self.borg(["create", "--compression", self.cfg["compression"], "--numeric-ids",
                          f"{self.repo}::{name}", "."], cwd=staging)
        self.created(prefix, name, done.returncode, record)

    def prune(self, prefix: str, record: dict) -> None:
        keep = [arg for field, value in self.cfg["keep"].items() if value
                for arg in (f"--keep-{field}", str(value))]
        done = self.borg(["prune", "--glob-archives", series_glob(prefix), *keep, self.repo])
        record["rc"] = done.returncode
        if done.returncode not in (0, 1):
            raise StepFailed(f"borg prune exited with {done.returncode}")

    def compact(self, record: dict) -> None:
        done = self.borg(["compact", self.repo])
        record["rc"] = done.returncode
        if done.returncode not in (0, 1):
            raise StepFailed(f"borg compact exited with {done.returncode}")

    def psql(self, prefix: list[str], database: str, *statements: str) -> subprocess.CompletedProcess:
        argv = [*prefix, self.cmd["psql"], "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d", database]
        for statement in statements:
            argv += ["-c", statement]
        return self.execute(argv, capture=True, cwd="/")

    def drop_scratch(self) -> None:
        drill = self.cfg["drill"]
        done = self.psql(drill["as_admin"], drill["admin_database"],
                         f"DROP DATABASE IF EXISTS {drill['database']} WITH (FORCE)")
        if done.returncode != 0:
            raise StepFailed(f"dropping the scratch database {drill['database']} failed (psql exited with "
                             f"{done.returncode})")

    def drill(self, source: dict, database: str, record: dict) -> None:
        drill = self.cfg["drill"]
        archives = self.list_series(series_prefixes(source)[f"db:{database}"])
        if not archives:
            raise StepFailed("no archive of this database in the repository")
        record["archive"] = archives[-1]
        scratch_root = os.path.join(self.cfg["staging"], ".drill")
        os.makedirs(scratch_root, mode=0o700, exist_ok=True)
        scratch = tempfile.mkdtemp(prefix="drill-", dir=scratch_root)
        try:
            dump_path = os.path.join(scratch, f"{database}.pgdump")
            fd = os.open(dump_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                done = self.borg(["extract", "--stdout", f"{self.repo}::{archives[-1]}", f"{database}.pgdump"],
                                 stdout=fh)
            if done.returncode != 0:
                raise StepFailed(f"borg extract exited with {done.returncode}")
            size = os.path.getsize(dump_path)
            record["dump_bytes"] = size
            if size == 0:
                raise StepFailed("the archived dump is empty")
            # A scratch database left by an interrupted run goes first.
            self.drop_scratch()
            done = self.psql(
                drill["as_admin"], drill["admin_database"],
                f"DO $fedisec$ BEGIN IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = "
                f"'{drill['role']}') THEN CREATE ROLE {drill['role']} LOGIN; END IF; END $fedisec$",
                f"ALTER ROLE {drill['role']} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS",
                f"CREATE DATABASE {drill['database']} OWNER {drill['role']} TEMPLATE template0")
            if done.returncode != 0:
                raise StepFailed(f"creating the scratch database failed (psql exited with {done.returncode})")
            try:
                self.restore_and_check(dump_path, record)
            finally:
                # A failed drop is an error of its own; it never hides the drill's.
                try:
                    self.drop_scratch()
                except StepFailed as exc:
                    self.fail(f"{source['host']}: restore drill of {database}", str(exc))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def restore_and_check(self, dump_path: str, record: dict) -> None:
        drill = self.cfg["drill"]
        # The dump is opened here (root) and handed over as stdin: the drill role never
        # needs to read this host's files.
        with open(dump_path, "rb") as fh:
            done = self.execute([*drill["as_restore"], self.cmd["pg_restore"], "--no-owner", "--no-acl",
                                 "--exit-on-error", "--dbname", drill["database"]], stdin=fh, cwd="/")
        record["restore_rc"] = done.returncode
        if done.returncode != 0:
            raise StepFailed(f"pg_restore exited with {done.returncode}")
        done = self.psql(drill["as_restore"], drill["database"],
                         "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = 'public'")
        lines = done.stdout.split() if done.returncode == 0 else []
        if len(lines) != 1 or not lines[0].isdigit():
            raise StepFailed(f"counting the restored tables failed (psql exited with {done.returncode})")
        record["tables"] = int(lines[0])
        if record["tables"] < 1:
            raise StepFailed("the restored database has no table in schema public")
        for statement in drill["sql"]:
            done = self.psql(drill["as_restore"], drill["database"], statement)
            result = done.stdout.strip() if done.returncode == 0 else None
            passed = done.returncode == 0 and result == "t"
            record["sql"].append({"sql": statement, "rc": done.returncode, "result": result, "ok": passed})
            if not passed:
                raise StepFailed(f"drill SQL did not return one row holding true: {statement!r} "
                                 f"(psql exited with {done.returncode}, returned {result!r})")

    # ----------------------------------------------------------------- whole run

    def step(self, where: str, record: dict, func: Any, *args: Any) -> bool:
        try:
            func(*args)
        except StepFailed as exc:
            record["ok"] = False
            record["error"] = self.fail(where, str(exc))
            return False
        record["ok"] = True
        return True

    def run(self) -> dict:
        state: dict[str, Any] = {
            "started": iso(self.started), "finished": None, "ok": False, "error": None, "errors": self.errors,
            "sources": {}, "prune": {}, "compact": None, "drill": {},
        }
        preflight: dict[str, Any] = {}
        if not self.step("preflight", preflight, self.preflight):
            return self.finish(state)
        for source in self.cfg["sources"]:
            host = source["host"]
            entry: dict[str, Any] = {"address": source["address"], "databases": {}, "files": None}
            state["sources"][host] = entry
            log("info", f"{host}: pulling")
            for database in source["databases"]:
                record = {"archive": None, "rc": None, "ok": False, "error": None, "warnings": []}
                entry["databases"][database] = record
                self.step(f"{host}: database {database}", record, self.dump, source, database, record)
            record = {"archive": None, "rsync_rc": None, "rc": None, "ok": False, "error": None, "warnings": []}
            entry["files"] = record
            self.step(f"{host}: files", record, self.files, source, record)
        for source in self.cfg["sources"]:
            for prefix in series_prefixes(source).values():
                record = {"rc": None, "ok": False, "error": None}
                state["prune"][prefix] = record
                self.step(f"prune {prefix}*", record, self.prune, prefix, record)
        record = {"rc": None, "ok": False, "error": None}
        state["compact"] = record
        self.step("compact", record, self.compact, record)
        if self.cfg["drill"]["enabled"]:
            for source in self.cfg["sources"]:
                for database in source["databases"]:
                    record = {"archive": None, "ok": False, "error": None, "tables": None, "sql": []}
                    state["drill"][f"{source['host']}/{database}"] = record
                    if not state["sources"][source["host"]]["databases"][database]["ok"]:
                        # An older archive restoring fine would say nothing about this run.
                        record["error"] = "not run: this run stored no dump of this database"
                        continue
                    self.step(f"{source['host']}: restore drill of {database}", record, self.drill, source,
                              database, record)
        return self.finish(state)

    def finish(self, state: dict) -> dict:
        state["finished"] = iso(now_utc())
        state["ok"] = not self.errors
        state["error"] = self.errors[-1] if self.errors else None
        return state


# --------------------------------------------------------------------------- commands


def cmd_run(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    with locked(cfg["state_file"], cfg["lock_wait_seconds"]):
        previous = read_state(cfg["state_file"])
        runner = Runner(cfg)
        state = runner.run()
        state["last_success"] = state["finished"] if state["ok"] else previous.get("last_success")
        if "check" in previous:
            state["check"] = previous["check"]
        write_state(cfg["state_file"], state)
    if state["ok"]:
        log("info", f"done: every source pulled, archived and drilled ({cfg['state_file']})")
        return EXIT_OK
    log("error", f"{len(state['errors'])} step(s) failed, the last: {state['error']} ({cfg['state_file']})")
    return EXIT_FAILED


def cmd_check(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    with locked(cfg["state_file"], cfg["lock_wait_seconds"]):
        runner = Runner(cfg)
        record: dict[str, Any] = {"started": iso(runner.started), "finished": None, "verify_data": args.verify_data,
                                  "rc": None, "ok": False, "error": None}
        argv = ["check", *(["--verify-data"] if args.verify_data else []), cfg["repository"]]
        try:
            done = runner.borg(argv)
            record["rc"] = done.returncode
            if done.returncode != 0:
                record["error"] = runner.fail("check", f"borg check exited with {done.returncode}")
        except StepFailed as exc:
            record["error"] = runner.fail("check", str(exc))
        record["finished"] = iso(now_utc())
        record["ok"] = record["error"] is None
        state = read_state(cfg["state_file"])
        state["check"] = record
        write_state(cfg["state_file"], state)
    return EXIT_OK if record["ok"] else EXIT_FAILED


def cmd_check_config(args: argparse.Namespace) -> int:
    load_config(args.file)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fedisec-backup-run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=DEFAULT_CONFIG, help=f"settings file (default {DEFAULT_CONFIG})")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="pull every source, archive, prune, compact and run the restore drill")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("check", help="borg check of the repository")
    p.add_argument("--verify-data", action="store_true", help="also decrypt and verify every chunk (slow)")
    p.set_defaults(func=cmd_check)
    p = sub.add_parser("check-config", help="check a settings file")
    p.add_argument("file")
    p.set_defaults(func=cmd_check_config)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as exc:
        log("error", str(exc))
        return EXIT_CONFIG


if __name__ == "__main__":
    sys.exit(main())
