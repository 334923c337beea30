from tests.conftest import Workspace


def test_new_scaffolds_a_bundle_that_validates_and_registers(registry: Workspace):
    result = registry.run("new", "faq-bot")
    assert result.exit_code == 0, result.output
    shown = registry.json("show", "bundles/faq-bot")
    assert shown["name"] == "faq-bot"
    assert all(not c["absent"] for c in shown["components"].values())
    assert registry.run("register", "bundles/faq-bot").exit_code == 0


def test_new_refuses_an_existing_folder(registry: Workspace):
    assert registry.run("new", "faq-bot").exit_code == 0
    marker = registry.root / "bundles/faq-bot/runbook.md"
    marker.write_text("mine")
    result = registry.run("new", "faq-bot")
    assert result.exit_code == 1 and "already exists; nothing was written" in result.stderr
    assert marker.read_text() == "mine"


def test_new_refuses_a_bad_name(registry: Workspace):
    result = registry.run("new", "Bad_Name")
    assert result.exit_code == 2 and "is not valid" in result.stderr
    assert not (registry.root / "bundles/Bad_Name").exists()
