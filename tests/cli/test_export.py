from tests.conftest import V1, Workspace


def test_export_round_trips_to_the_same_digest(registered: Workspace):
    result = registered.run("export", V1, "out/v1")
    assert result.exit_code == 0, result.output
    assert registered.json("show", "out/v1")["digest"] == registered.json("show", V1)["digest"]
    assert (registered.root / "out/v1/prompts/system.md").read_bytes() == (registered.root / "bundles/support-triage-v1/prompts/system.md").read_bytes()


def test_export_refuses_a_non_empty_folder(registered: Workspace):
    target = registered.root / "taken"
    target.mkdir()
    (target / "mine.txt").write_text("keep me")
    result = registered.run("export", V1, str(target))
    assert result.exit_code == 1 and "already exists and is not empty; nothing was written" in result.stderr
    assert sorted(p.name for p in target.iterdir()) == ["mine.txt"]
