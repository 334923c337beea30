import time

import pytest

from bundlectl.errors import InvalidInput
from bundlectl.foundation.safeyaml import load_yaml


def billion_laughs(levels: int = 9) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def problem(text: str) -> str:
    with pytest.raises(InvalidInput) as err:
        load_yaml(text, "f.yaml")
    assert len(err.value.problems) == 1
    return str(err.value.problems[0])


def test_plain_document_loads_with_line_numbers():
    doc = load_yaml("a: 1\nb:\n  c: [x, y]\n", "f.yaml")
    assert doc.data == {"a": 1, "b": {"c": ["x", "y"]}}
    assert doc.line_of(("b", "c", 1)) == 3
    assert doc.line_of(("b", "missing")) == 2


def test_dates_stay_strings():
    assert load_yaml("version: 2026-11-22\n", "f.yaml").data == {"version": "2026-11-22"}


def test_duplicate_key_names_both_lines():
    assert problem("a: 1\nb: 2\na: 3\n") == "f.yaml:3: duplicate key 'a' (first defined on line 1)"


def test_billion_laughs_fails_fast_without_expanding():
    started = time.perf_counter()
    message = problem(billion_laughs())
    assert "expands to more than" in message and "alias bomb" in message
    assert time.perf_counter() - started < 5  # generous: the expansion would take minutes and gigabytes


def test_small_aliases_are_fine():
    doc = load_yaml("base: &b {x: 1}\nother: *b\n", "f.yaml")
    assert doc.data["other"] == {"x": 1}


def test_recursive_alias_is_refused():
    assert "recursive alias" in problem("a: &x [*x]\n")


def test_deep_nesting_is_refused():
    assert "nests deeper than 64 levels" in problem("[" * 100 + "]" * 100)


def test_python_tags_never_execute():
    message = problem('x: !!python/object/apply:os.system ["touch /tmp/bundlectl-pwned"]\n')
    assert "unsupported YAML" in message and "python/object/apply" in message


def test_syntax_error_names_line():
    assert problem("a: [1, 2\nb: 3\n").startswith("f.yaml:")
