"""The per-role reference (scripts/role_reference.py): docs/reference/<role>.md is what the
roles' meta/argument_specs.yml say, every option is on its page, and a spec the script cannot
render fails with the file and the option named."""
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
import role_reference  # noqa: E402


def test_the_reference_pages_are_what_the_specs_say():
    # Fails when a spec changed and scripts/role_reference.py was not run.
    assert role_reference.main(["--check"]) == 0


def test_every_role_has_a_page_and_every_option_is_on_it():
    specs = sorted((REPO / "roles").glob("*/meta/argument_specs.yml"))
    assert len(specs) >= 9
    for spec in specs:
        role = spec.parents[1].name
        page = (REPO / "docs" / "reference" / f"{role}.md").read_text()
        for entry in yaml.safe_load(spec.read_text())["argument_specs"].values():
            for name in entry.get("options") or {}:
                assert f"| `{name}` |" in page, (role, name)


def test_each_role_readme_links_its_reference():
    for readme in sorted((REPO / "roles").glob("*/README.md")):
        role = readme.parent.name
        assert f"../../docs/reference/{role}.md" in readme.read_text(), role


def test_a_stale_page_is_reported_and_rewritten(tmp_path, capsys):
    spec_dir = tmp_path / "roles" / "demo" / "meta"
    spec_dir.mkdir(parents=True)
    (spec_dir / "argument_specs.yml").write_text(
        "argument_specs:\n  main:\n    options:\n      demo_a: {type: int, default: 1, description: A.}\n")
    assert role_reference.main(["--check"], repo=tmp_path) == 1
    assert "differs: docs/reference/demo.md" in capsys.readouterr().out
    assert not (tmp_path / "docs").exists()
    assert role_reference.main([], repo=tmp_path) == 0
    assert role_reference.main(["--check"], repo=tmp_path) == 0
    (spec_dir / "argument_specs.yml").write_text(
        "argument_specs:\n  main:\n    options:\n      demo_a: {type: int, default: 2, description: A.}\n")
    assert role_reference.main(["--check"], repo=tmp_path) == 1


def test_rows_show_type_choices_default_required_and_nested_options():
    page = role_reference.render("demo", """
argument_specs:
  main:
    short_description: Demo C(role)
    options:
      demo_mode: {type: str, choices: [a, b], default: a, description: [First O(demo_list)., Second V(b).]}
      demo_name: {type: str, required: true, description: "Has | a pipe, I(italic) and L(a link,https://example.org)."}
      demo_list:
        type: list
        elements: dict
        default: []
        description: Items.
        options:
          host: {type: str, required: true, description: The host.}
      demo_keep:
        type: dict
        options:
          daily: {type: int, description: Days.}
      demo_empty: {type: str, default: "", description: Empty.}
      demo_expr: {type: str, default: "{{ a | b }}"}
  extra:
    options: {}
""")
    assert "| `demo_mode` | str: `a`, `b` | `a` | First `demo_list`.<br>Second `b`. |" in page
    assert "| `demo_name` | str | required | Has \\| a pipe, *italic* and [a link](https://example.org). |" in page
    assert "| `demo_list` | list of dict | `[]` | Items. |" in page
    assert "| `demo_list[].host` | str | required | The host. |" in page
    assert "| `demo_keep.daily` | int |  | Days. |" in page
    assert '| `demo_empty` | str | `""` | Empty. |' in page
    assert "| `demo_expr` | str | `{{ a \\| b }}` |  |" in page
    assert "Demo `role`" in page
    assert "## Entry point `tasks_from: extra`" in page and "No variables." in page


@pytest.mark.parametrize("text, message", [
    ("argument_specs: [", "not YAML"),
    ("other: {}", "no argument_specs mapping"),
    ("argument_specs: {main: [1]}", "entry point main must be a mapping"),
    ("argument_specs: {main: {options: [a]}}", "options must be a mapping"),
    ("argument_specs: {main: {options: {demo_a: 1}}}", "option demo_a must be a mapping"),
    ("argument_specs: {main: {options: {demo_a: {description: {x: 1}}}}}", "option demo_a: description must be"),
    ("argument_specs: {main: {options: {demo_a: {choices: a}}}}", "option demo_a: choices must be a list"),
    ("argument_specs: {main: {options: {demo_a: {type: [str]}}}}", "option demo_a: type must be a string"),
])
def test_a_spec_it_cannot_render_names_the_file_and_the_option(text, message):
    with pytest.raises(role_reference.SpecError) as raised:
        role_reference.render("demo", text)
    assert "roles/demo/meta/argument_specs.yml" in str(raised.value)
    assert message in str(raised.value)
