"""The updates role's files as apt reads them: its apt.conf.d file, rendered from the role's
template, replaces Debian's lists (read after Debian's own file, as on a host) and carries
the role's values; its argument specs say what its defaults are."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import jinja2
import pytest
import yaml

ROLE = Path(__file__).resolve().parents[2] / "roles" / "updates"
# Debian 12's /etc/apt/apt.conf.d/50unattended-upgrades, its lists.
DEBIAN_50 = """\
Unattended-Upgrade::Origins-Pattern {
        "origin=Debian,codename=${distro_codename},label=Debian";
        "origin=Debian,codename=${distro_codename},label=Debian-Security";
        "origin=Debian,codename=${distro_codename}-security,label=Debian-Security";
};
Unattended-Upgrade::Package-Blacklist {
};
"""


def defaults() -> dict:
    return yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())


def render(**overrides) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(ROLE / "templates"), keep_trailing_newline=True)
    return env.get_template("apt-updates.conf.j2").render(ansible_managed="Managed", **{**defaults(), **overrides})


def apt_dump(tmp_path: Path, ours: str) -> list[str]:
    if shutil.which("apt-config") is None:
        pytest.fail("apt-config (Debian's apt) is needed to read the rendered file as apt does")
    (tmp_path / "50unattended-upgrades").write_text(DEBIAN_50)
    (tmp_path / "52fedisec-updates").write_text(ours)
    done = subprocess.run(["apt-config", "-c", str(tmp_path / "50unattended-upgrades"),
                           "-c", str(tmp_path / "52fedisec-updates"), "dump"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def values(lines: list[str], key: str) -> list[str]:
    return [line.split(" ", 1)[1].rstrip(";").strip('"') for line in lines if line.startswith(key + ":: ")]


def test_the_specs_defaults_are_the_roles_defaults():
    specs = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    assert {name: option.get("default") for name, option in specs.items()} == defaults()


def test_the_default_file_takes_the_security_archive_only_over_debians_list(tmp_path):
    lines = apt_dump(tmp_path, render())
    assert values(lines, "Unattended-Upgrade::Origins-Pattern") == [
        "origin=Debian,codename=${distro_codename}-security,label=Debian-Security",
        "origin=Debian,codename=${distro_codename},label=Debian-Security",
    ]
    assert values(lines, "Unattended-Upgrade::Package-Blacklist") == []
    assert 'Unattended-Upgrade::Mail "root";' in lines
    assert 'Unattended-Upgrade::MailReport "only-on-error";' in lines
    assert 'Unattended-Upgrade::Automatic-Reboot "false";' in lines
    assert 'APT::Periodic::Unattended-Upgrade "1";' in lines


def test_the_variables_reach_the_file(tmp_path):
    lines = apt_dump(tmp_path, render(updates_origins=["origin=Debian,codename=${distro_codename},label=Debian"],
                                      updates_blocklist=["linux-", "postgresql-15"], updates_reboot=True,
                                      updates_mail_to="ops@example.org", updates_mail_report="always",
                                      updates_remove_unused_dependencies=False))
    assert values(lines, "Unattended-Upgrade::Origins-Pattern") == ["origin=Debian,codename=${distro_codename},label=Debian"]
    assert values(lines, "Unattended-Upgrade::Package-Blacklist") == ["linux-", "postgresql-15"]
    assert 'Unattended-Upgrade::Automatic-Reboot "true";' in lines
    assert 'Unattended-Upgrade::Mail "ops@example.org";' in lines
    assert 'Unattended-Upgrade::MailReport "always";' in lines
    assert 'Unattended-Upgrade::Remove-Unused-Dependencies "false";' in lines


def test_without_the_clear_debians_list_would_stay(tmp_path):
    # The control: the same file without #clear adds to Debian's list (point releases too).
    lines = apt_dump(tmp_path, render().replace("#clear Unattended-Upgrade::Origins-Pattern;\n", ""))
    assert "origin=Debian,codename=${distro_codename},label=Debian" in values(lines, "Unattended-Upgrade::Origins-Pattern")
