"""language-id: the language of a text, with py3langid (a langid.py fork).

The model (a naive Bayes classifier over byte n-grams, 97 languages) is part of the py3langid
package, so the pod loads it from disk at `setup` and never reaches the network.

Input:  {"text": "Bonjour tout le monde"}   or   {"texts": ["...", "..."]}
        optional "top": how many candidates to list (default: config `top`, 3)
Output: {"language": "fr", "confidence": 0.99, "candidates": [{"language": "fr", "confidence": 0.99}, ...]}
        ({"results": [...]} for "texts")

Config: `languages` restricts the answer to these ISO 639-1 codes; `minConfidence` answers "und"
below it.
"""

from __future__ import annotations

from typing import Any


def setup(ctx: Any) -> None:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    min_confidence = ctx.config.get("minConfidence")
    identifier = LanguageIdentifier.from_model_file(
        MODEL_FILE, norm_probs=True, min_confidence=min_confidence
    )
    languages = ctx.config.get("languages")
    if languages:
        identifier.set_languages(list(languages))
    ctx.state["identifier"] = identifier
    ctx.log(f"py3langid ready: {len(identifier.labels)} languages")


def process(payload: Any, ctx: Any) -> dict:
    if not isinstance(payload, dict):
        raise TypeError('expected {"text": "..."} or {"texts": ["...", ...]}')
    top = payload.get("top", ctx.config.get("top", 3))
    if not isinstance(top, int) or top < 0:
        raise ValueError(f"`top` must be a non-negative integer, got {top!r}")
    identifier = ctx.state["identifier"]
    if "texts" in payload:
        texts = payload["texts"]
        if not isinstance(texts, list):
            raise ValueError("`texts` must be a list of strings")
        return {"results": [identify(identifier, text, top) for text in texts]}
    return identify(identifier, payload.get("text"), top)


def identify(identifier: Any, text: object, top: int) -> dict:
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"`text` must be a non-empty string, got {text!r}")
    language, confidence = identifier.classify(text)
    candidates = [
        {"language": code, "confidence": round(float(score), 4)}
        for code, score in identifier.rank(text)[:top]
    ]
    return {
        "language": language,
        "confidence": round(float(confidence), 4),
        "candidates": candidates,
    }
