"""exim_tls: submission password hashes (random salts kept across runs) and the failed-AUTH limit.

The templates and checks are rendered by Ansible's own template engine, as the role renders them.
"""
from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleError
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
from passlib.hash import sha512_crypt

ROLE = Path(__file__).resolve().parents[2] / "roles" / "exim_tls"
ROLE_ROUNDS = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())["exim_tls_passwd_rounds"]
# The role's 656000 rounds take a good part of a second per hash: the cases below use fewer
# (any count but 5000, which crypt leaves out of the hash); one test uses the role's.
ROUNDS = 6000

ALICE = {"name": "alice", "password": "correct horse battery"}
BOB = {"name": "b.o-b_2", "password": "another long secret"}


def _render(template: str, **variables) -> str:
    templar = Templar(loader=DataLoader(), variables=variables)
    source = trust_as_template((ROLE / "templates" / template).read_text())
    # As the template action renders: trim_blocks, backslashes kept.
    text = templar.template(source, escape_backslashes=False, overrides={"trim_blocks": True})
    return "" if text is None else text


def passwd(
    users: list[dict], current: str | None = None, host: str = "fedi", rounds: int = ROUNDS
) -> dict[str, str]:
    """Render templates/passwd.j2; ``current`` is the file on the host (None: not there)."""
    variables = {
        "exim_tls_submission_users": users,
        "inventory_hostname": host,
        "exim_tls_passwd_rounds": rounds,
    }
    if current is not None:
        variables["exim_tls_passwd_current"] = {"content": base64.b64encode(current.encode()).decode()}
    text = _render("passwd.j2", **variables)
    assert text.endswith("\n") or text == ""
    lines = text.splitlines()
    entries = dict(line.split(":", 1) for line in lines)
    assert len(entries) == len(lines), text  # one line per user, no blank or comment lines
    return entries


def salt_of(crypted: str, rounds: int = ROUNDS) -> str:
    match = re.fullmatch(rf"\$6\$rounds={rounds}\$([./0-9A-Za-z]{{16}})\$[./0-9A-Za-z]{{86}}", crypted)
    assert match, crypted
    return match.group(1)


def name_salt(name: str, host: str) -> str:
    """The predictable salt of earlier releases."""
    return hashlib.sha256((name + host).encode()).hexdigest()[:16]


def as_file(entries: dict[str, str]) -> str:
    return "".join(f"{name}:{crypted}\n" for name, crypted in entries.items())


class TestPasswd:
    def test_the_roles_rounds_and_a_second_run(self):
        assert ROLE_ROUNDS == 656000  # Ansible's default for sha512 password_hash
        first = passwd([ALICE], rounds=ROLE_ROUNDS)
        assert sha512_crypt.verify(ALICE["password"], first["alice"])
        assert len(salt_of(first["alice"], ROLE_ROUNDS)) == 16
        assert passwd([ALICE], as_file(first), rounds=ROLE_ROUNDS) == first

    def test_new_users_get_verifiable_hashes_with_random_salts(self):
        first = passwd([ALICE, BOB])
        assert list(first) == ["alice", "b.o-b_2"]
        for user in (ALICE, BOB):
            assert sha512_crypt.verify(user["password"], first[user["name"]])
            assert salt_of(first[user["name"]]) != name_salt(user["name"], "fedi")
        # Random: rendering again without the file gives other salts, never the same one.
        second = passwd([ALICE, BOB])
        assert salt_of(first["alice"]) != salt_of(second["alice"])
        assert salt_of(first["alice"]) != salt_of(first["b.o-b_2"])

    def test_a_matching_hash_is_kept_byte_for_byte(self):
        first = passwd([ALICE, BOB])
        assert passwd([ALICE, BOB], as_file(first)) == first  # the second run changes nothing
        # Also from a file with CRLF line ends, other users and trailing blanks.
        messy = f"carol:*\r\nalice:{first['alice']}  \r\n\r\nb.o-b_2:{first['b.o-b_2']}\r\n"
        assert passwd([ALICE, BOB], messy) == first

    def test_a_changed_password_gets_a_new_salt(self):
        first = passwd([ALICE])
        changed = passwd([{"name": "alice", "password": "a different password"}], as_file(first))
        assert sha512_crypt.verify("a different password", changed["alice"])
        assert salt_of(changed["alice"]) != salt_of(first["alice"])

    def test_a_hash_with_the_old_name_derived_salt_is_replaced(self):
        old = sha512_crypt.using(rounds=ROUNDS, salt=name_salt("alice", "fedi")).hash(ALICE["password"])
        replaced = passwd([ALICE], f"alice:{old}\n")
        assert replaced["alice"] != old
        assert salt_of(replaced["alice"]) != name_salt("alice", "fedi")
        assert sha512_crypt.verify(ALICE["password"], replaced["alice"])
        # ... once: the new hash is then kept.
        assert passwd([ALICE], as_file(replaced)) == replaced

    def test_the_same_salt_on_another_host_is_not_the_old_one(self):
        # The old salt depended on the host: a kept hash on "fedi" is judged with fedi's name.
        salt = name_salt("alice", "other")
        crypted = sha512_crypt.using(rounds=ROUNDS, salt=salt).hash(ALICE["password"])
        assert passwd([ALICE], f"alice:{crypted}\n") == {"alice": crypted}

    @pytest.mark.parametrize(
        "line",
        [
            "alice:",
            "alice:*",
            "alice:!",
            "alice",
            "alice:$6$short$tooshort",
            "alice:$1$abcdefgh$0123456789abcdefghijkl",  # MD5 crypt
            "alice:{crypt}$6$rounds=6000$abcdefghijklmnop$" + "a" * 86,
            "alice:$6$abcdefghijklmnop$" + "a" * 86,  # 5000 rounds (no rounds=): replaced
            "alice:$6$rounds=5000$abcdefghijklmnop$" + "a" * 86,
            "alice:$6$rounds=6000$abc!efghijklmnop$" + "a" * 86,  # not a crypt salt
            "alice:$6$rounds=6000$abcdefghijklmnopq$" + "a" * 86,  # 17 salt characters
            "alice:$6$rounds=6000$abcdefghijklmnop$" + "a" * 86 + ":extra",
            "alice:$6$rounds=6000$abcdefghijklmnop$" + "a" * 86,  # right shape, wrong password
            "alice:$6$rounds=6000$$" + "a" * 86,  # empty salt
            " alice:$6$rounds=6000$abcdefghijklmnop$" + "a" * 86,
            "ALICE:x",
            "\x00\xff garbage",
        ],
    )
    def test_a_line_that_does_not_match_gets_a_new_hash(self, line):
        entries = passwd([ALICE], line + "\n")
        assert sha512_crypt.verify(ALICE["password"], entries["alice"])
        assert entries["alice"] not in line

    def test_a_hash_in_another_format_with_the_right_password_is_replaced(self):
        for crypted in (
            sha512_crypt.using(rounds=5000, salt="abcdefghijklmnop").hash(ALICE["password"]),
            sha512_crypt.using(rounds=7000, salt="abcdefghijklmnop").hash(ALICE["password"]),
        ):
            entries = passwd([ALICE], f"alice:{crypted}\n")
            assert entries["alice"] != crypted
            assert salt_of(entries["alice"]) != "abcdefghijklmnop"

    @pytest.mark.parametrize("other", ["alicex", "alic", "alice2", "xalice"])
    def test_another_users_line_is_never_taken(self, other):
        theirs = sha512_crypt.using(rounds=ROUNDS).hash(ALICE["password"])
        entries = passwd([ALICE], f"{other}:{theirs}\n")
        assert entries["alice"] != theirs

    def test_a_dot_in_a_name_is_not_a_regex_wildcard(self):
        theirs = sha512_crypt.using(rounds=ROUNDS).hash(BOB["password"])
        entries = passwd([BOB], f"bXo-b_2:{theirs}\n")
        assert entries["b.o-b_2"] != theirs
        assert passwd([BOB], f"b.o-b_2:{theirs}\n") == {"b.o-b_2": theirs}

    def test_removed_users_are_dropped_and_no_users_give_an_empty_file(self):
        first = passwd([ALICE, BOB])
        assert passwd([BOB], as_file(first)) == {"b.o-b_2": first["b.o-b_2"]}
        assert passwd([], as_file(first)) == {}

    def test_no_file_and_a_skipped_read_are_the_same(self):
        # The slurp task is skipped when the file does not exist: its result has no content.
        variables = {
            "exim_tls_submission_users": [ALICE],
            "inventory_hostname": "fedi",
            "exim_tls_passwd_rounds": ROUNDS,
            "exim_tls_passwd_current": {"changed": False, "skipped": True},
        }
        (line,) = _render("passwd.j2", **variables).splitlines()
        assert sha512_crypt.verify(ALICE["password"], line.split(":", 1)[1])

    def test_every_task_that_handles_passwords_or_hashes_hides_its_output(self):
        tasks = yaml.safe_load((ROLE / "tasks" / "config.yml").read_text())
        for task in tasks:
            text = str(task)
            if "passwd" in text and ("slurp" in text or "template" in text):
                assert task.get("no_log") is True, task["name"]


def _assert_task() -> dict:
    tasks = yaml.safe_load((ROLE / "tasks" / "assert.yml").read_text())
    (task,) = [t for t in tasks if "exim_tls_auth_fail_limit" in str(t.get("ansible.builtin.assert"))]
    return task["ansible.builtin.assert"]


def limit_accepted(value: object) -> bool:
    that = [check for check in _assert_task()["that"] if "exim_tls_auth_fail_limit" in check]
    assert len(that) == 1
    templar = Templar(loader=DataLoader(), variables={"exim_tls_auth_fail_limit": value})
    return templar.evaluate_conditional(trust_as_template(that[0]))


class TestAuthFailLimit:
    def test_the_default(self):
        defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
        assert defaults["exim_tls_auth_fail_limit"] == "5 / 1h"
        assert limit_accepted(defaults["exim_tls_auth_fail_limit"])
        spec = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())
        option = spec["argument_specs"]["main"]["options"]["exim_tls_auth_fail_limit"]
        assert option["default"] == defaults["exim_tls_auth_fail_limit"]
        assert option["type"] == "str"

    @pytest.mark.parametrize("value", ["5 / 1h", "5/1h", "10 / 10m", "3 / 1d", "20 / 1h30m", "1 / 1w", "100000 / 5s"])
    def test_accepted(self, value):
        assert limit_accepted(value)

    @pytest.mark.parametrize(
        "value",
        [
            "",
            "0 / 1h",  # would refuse every AUTH
            "5",
            "5 / ",
            "/ 1h",
            "5 / 1",
            "5 / 1y",
            "-5 / 1h",
            "5.5 / 1h",
            "5 / 1h / strict",  # options are the role's
            "5 / 1h\n",
            "5 / 1h\nfedisec_x:",
            "5 / 1h : x",
            "5 / $sender_host_address",
            "5 / ${run{x}}",
            "1000000 / 1h",
            "5\t/ 1h",
        ],
    )
    def test_refused(self, value):
        assert not limit_accepted(value)

    def test_the_message_names_the_variable(self):
        templar = Templar(loader=DataLoader(), variables={"exim_tls_auth_fail_limit": "0 / 1h",
                                                          "exim_tls_relay_nets": [], "exim_tls_satellites": [],
                                                          "exim_tls_smarthost": ""})
        message = templar.template(trust_as_template(_assert_task()["fail_msg"]))
        assert "exim_tls_auth_fail_limit" in message and "0 / 1h" in message

    def _acls(self, limit: str = "7 / 2h") -> dict[str, list[list[str]]]:
        """ACL name -> its statements, each a list of lines (verb first)."""
        text = _render("60_fedisec-auth.j2", exim_tls_auth_fail_limit=limit, ansible_managed="managed")
        acls: dict[str, list[list[str]]] = {}
        for line in text.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if re.fullmatch(r"\w+:", line):
                current = acls.setdefault(line[:-1], [])
            elif re.fullmatch(r"  \w+", line):
                current.append([line.strip()])
            else:
                assert line.startswith("    "), line
                current[-1].append(line.strip())
        return acls

    def test_the_acls_count_and_check_the_same_rate(self):
        acls = self._acls()
        assert list(acls) == ["fedisec_check_auth", "fedisec_count_auth_fail"]
        conditions = [
            line.split(" = ", 1)[1]
            for statements in acls.values()
            for statement in statements
            for line in statement
            if line.startswith("ratelimit = ")
        ]
        assert conditions == [
            "7 / 2h / per_cmd / strict / fedisec_auth_fail:$sender_host_address",
            "7 / 2h / per_cmd / readonly / fedisec_auth_fail:$sender_host_address",
            "7 / 2h / per_cmd / strict / fedisec_auth_fail:$sender_host_address",
        ]
        # Exim keys a rate by period, per_* mode and key: only the update mode may differ.
        assert len({re.sub(r" / (readonly|strict) /", " /", c) for c in conditions}) == 1

    def test_the_auth_acl(self):
        count, mark, check, last = self._acls()["fedisec_check_auth"]
        # A later AUTH on the connection: the earlier one failed. Counted before the check.
        assert count[0] == "warn" and count[1] == "condition = ${if eq{$acl_c_fedisec_auth}{1}}"
        assert count[2].endswith("/ strict / fedisec_auth_fail:$sender_host_address")
        assert mark == ["warn", "set acl_c_fedisec_auth = 1"]
        # Refused and disconnected, flagged only when the limit is reached (after the condition).
        assert check[0] == "drop"
        assert check[1].startswith("ratelimit = ") and "/ readonly /" in check[1]
        assert check[2] == "set acl_c_fedisec_auth_refused = 1"
        assert any(line.startswith("message = ") for line in check[3:])
        assert last == ["accept"]

    def test_the_end_of_connection_acl(self):
        (count, last) = self._acls()["fedisec_count_auth_fail"]
        # QUIT and not-QUIT ACLs permit only warn and accept.
        assert count[0] == "warn" and last == ["accept"]
        # Conditions of one statement are a conjunction: the last AUTH failed, and it was
        # not the one refused by the limit.
        assert count[1:3] == [
            "condition = ${if eq{$authentication_failed}{1}}",
            "condition = ${if !eq{$acl_c_fedisec_auth_refused}{1}}",
        ]
        assert "/ strict /" in count[3]

    def test_no_exim_brace_pair_is_read_by_jinja(self):
        # "{{" in Exim's syntax would start a Jinja expression: the rendered lines must be
        # the template's own lines (comments aside).
        for template in ("60_fedisec-auth.j2", "04_fedisec-tls.j2", "20_fedisec-submission.j2"):
            source = (ROLE / "templates" / template).read_text()
            assert "{{ " in source or "{%" in source
            for line in source.splitlines():
                assert "{{" not in line.replace("{{ ", "").replace("{{-", ""), (template, line)

    def test_the_main_options_name_the_acls(self):
        text = _render(
            "04_fedisec-tls.j2",
            ansible_managed="managed",
            exim_tls_priority="NORMAL",
            exim_tls_ports=[25, 587],
            exim_tls_smtps=False,
        )
        options = dict(re.findall(r"^(acl_smtp_\w+) = (\S+)$", text, re.MULTILINE))
        assert options == {
            "acl_smtp_auth": "fedisec_check_auth",
            "acl_smtp_quit": "fedisec_count_auth_fail",
            "acl_smtp_notquit": "fedisec_count_auth_fail",
        }
        assert set(options.values()) <= set(self._acls())
        # Exim 4.96 (Debian 12) has no auth:fail event: no event_action.
        assert "event_action" not in text


def test_an_unknown_filter_would_fail_loudly():
    # Sanity check of the harness: a template error is an error, not an empty file.
    templar = Templar(loader=DataLoader(), variables={})
    with pytest.raises(AnsibleError):
        templar.template(trust_as_template("{{ 1 | no_such_filter }}"))
