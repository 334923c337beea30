"""terminal_safe: only the plain colours bundlectl writes pass; everything else a terminal would act on is escaped."""

from bundlectl.safeio.terminal import terminal_safe


def test_only_plain_colours_pass():
    assert terminal_safe("\x1b[1mbold\x1b[0m \x1b[32mgreen\x1b[0m") == "\x1b[1mbold\x1b[0m \x1b[32mgreen\x1b[0m"
    assert terminal_safe("\x1b[8mconcealed\x1b[0m") == "\\x1b[8mconcealed\x1b[0m"
    assert terminal_safe("a\tb\nc\rd\x07e\x7f") == "a\tb\nc\\x0dd\\x07e\\x7f"


def test_what_a_manifest_may_hold_is_escaped_on_a_terminal():
    hostile = "\x1b]8;;https://evil.example\x1b\\x\x1b]8;;\x1b\\ \u202etxt.exe \x00 \x1b[2J \x9b31m \u2066"
    assert terminal_safe(hostile) == ("\\x1b]8;;https://evil.example\\x1b\\x\\x1b]8;;\\x1b\\ \\u202etxt.exe \\x00 \\x1b[2J \\x9b31m \\u2066")
