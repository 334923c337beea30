"""What anyone who writes a record chose (its reason, an actor's claim) reaches a Slack channel as plain text: no
`<!channel>` ping, no link under a label of the writer's choosing."""

from __future__ import annotations

from tests.conftest import Workspace
from tests.webhooks.conftest import subscribe


def test_a_reason_with_slack_control_sequences_arrives_as_plain_text(git_registry: Workspace, receivers, monkeypatch):
    chat = receivers()
    monkeypatch.setenv("SLACK_URL", chat.url)
    subscribe(git_registry, {"chat": {"url": {"env": "SLACK_URL"}, "format": "slack"}})
    reason = "<!channel> urgent: log in at <https://evil.example/login|the runbook> & rotate"
    result = subscribe(
        git_registry,
        {"chat": {"url": {"env": "SLACK_URL"}, "format": "slack", "link": "https://r/{seq}"}},
        "--reason",
        reason,
        "--actor",
        "<@U024BE7LH>",
    )
    assert result.exit_code == 0, result.output

    (message,) = chat.got
    text = message.json["text"]
    assert "<!channel>" not in text and "<https://evil.example" not in text and "<@U024BE7LH>" not in text
    assert "&lt;!channel&gt; urgent: log in at &lt;https://evil.example/login|the runbook&gt; &amp; rotate" in text
    assert "by &lt;@U024BE7LH&gt;" in text
    assert text.endswith(" <https://r/" + str(git_registry.event_count()) + "|details>")  # the subscriber's link stays one
