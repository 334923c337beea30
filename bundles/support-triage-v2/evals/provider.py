"""Stand-in triage model for running the suite offline with promptfoo (file://provider.py).

It routes by keywords, the way a weak baseline would, so the suite has realistic failures.
"""

import json

ROUTES = [
    ("abuse", ("spam", "phishing", "fraud", "scam", "threat", "harass")),
    ("billing", ("invoice", "charge", "refund", "billed", "payment", "card", "plan", "vat", "receipt")),
    ("shipping", ("delivery", "shipped", "tracking", "package", "courier", "return label", "order")),
    ("account", ("locked", "2fa", "owner", "transfer", "sso", "password", "seat", "teammate")),
]
ESCALATE = ("lawsuit", "chargeback", "data breach", "self-harm", "lawyer", "gdpr")


def call_api(prompt, options, context):
    ticket = context["vars"].get("ticket", "").lower()
    queue = "technical"
    for name, words in ROUTES:
        if any(word in ticket for word in words):
            queue = name
            break
    escalate = any(word in ticket for word in ESCALATE)
    priority = "p1" if escalate or "down" in ticket or "outage" in ticket else "p3"
    output = {
        "queue": queue,
        "priority": priority,
        "reason": f"Routed to {queue} based on the ticket's subject matter.",
        "citations": ["kb-101"],
        "escalate": escalate,
        "confidence": 0.9 if queue != "technical" else 0.6,
    }
    return {"output": json.dumps(output), "tokenUsage": {"total": 410, "prompt": 360, "completion": 50}, "cost": 0.0021}
