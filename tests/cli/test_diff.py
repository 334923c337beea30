"""`diff` on the command line: registered bundles diff from the registry alone."""

from tests.conftest import V1, V2, Workspace


def test_registered_content_survives_the_folder(registered: Workspace):
    import shutil

    shutil.rmtree(registered.root / "bundles")
    diff = registered.json("diff", V1, V2, "--component", "prompt")
    assert "escalate_to_human" in diff["components"]["prompt"]["text_diffs"]["prompts/system.md"]
