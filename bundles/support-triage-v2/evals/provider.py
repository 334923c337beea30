"""Stand-in triage model for running the suite offline with promptfoo (file://provider.py).

It routes by keywords, the way the v2 prompt asks the model to: GDPR requests first, technical
symptoms before topic words (so "the shipping API returns 500" is technical), and the ticket's own
instructions ignored. A stand-in, not a model: it makes the suite runnable without network access.
"""

import json

ROUTES = [
    ("account", ("gdpr",)),
    ("technical", ("api", "webhook", "error", "crash", " down", "outage", "export", "502", "500", "time out")),
    ("billing", ("invoice", "charge", "refund", "billed", "payment", "card", "plan", "vat", "receipt")),
    ("abuse", ("spam", "phishing", "fraud", "scam", "threat", "harass")),
    ("account", ("locked", "2fa", "owner", "transfer", "sso", "password", "seat", "teammate", "merge", "profile", "company name")),
    ("shipping", ("delivery", "shipped", "tracking", "package", "parcel", "courier", "return label", "order", "hardware")),
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
    priority = "p1" if escalate or " down" in ticket or "outage" in ticket else "p3"
    output = {
        "queue": queue,
        "priority": priority,
        "reason": f"Routed to {queue} based on the ticket's subject matter.",
        "citations": ["kb-101"],
        "escalate": escalate,
        "confidence": 0.9 if queue != "technical" else 0.7,
    }
    return {"output": json.dumps(output), "tokenUsage": {"total": 430, "prompt": 370, "completion": 60}, "cost": 0.0014}
