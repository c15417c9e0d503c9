"""The echo recipe: answers every request with its own payload."""

ACTIONS = ("reverse",)


def process(payload, ctx):
    return payload


def reverse(payload, ctx):
    """Reverses the `text` field, to show a second action."""
    return {"text": str((payload or {}).get("text", ""))[::-1]}
