"""sentiment: positive, negative or neutral, with VADER (vaderSentiment).

VADER's lexicon and rules are files inside the vaderSentiment package: the pod loads them at
`setup` and never reaches the network. It is tuned for short English texts (reviews, messages,
social media), emoji and emphasis included ("GREAT!!!" scores higher than "great").

Input:  {"text": "I love this"}   or   {"texts": ["...", "..."]}
Output: {"label": "positive", "score": 0.6369,
         "scores": {"positive": 0.677, "neutral": 0.323, "negative": 0.0}}
        ({"results": [...]} for "texts"); `score` is VADER's compound score in [-1, 1].

Config: `positiveAbove` / `negativeBelow`: the compound score thresholds (VADER's own: ±0.05).
"""

from __future__ import annotations

from typing import Any


def setup(ctx: Any) -> None:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    ctx.state["analyzer"] = SentimentIntensityAnalyzer()
    ctx.log("VADER lexicon loaded")


def process(payload: Any, ctx: Any) -> dict:
    if not isinstance(payload, dict):
        raise TypeError('expected {"text": "..."} or {"texts": ["...", ...]}')
    if "texts" in payload:
        texts = payload["texts"]
        if not isinstance(texts, list):
            raise ValueError("`texts` must be a list of strings")
        return {"results": [score(ctx, text) for text in texts]}
    return score(ctx, payload.get("text"))


def score(ctx: Any, text: object) -> dict:
    if not isinstance(text, str):
        raise TypeError(f"`text` must be a string, got {text!r}")
    scores = ctx.state["analyzer"].polarity_scores(text)
    compound = float(scores["compound"])
    if compound >= float(ctx.config.get("positiveAbove", 0.05)):
        label = "positive"
    elif compound <= float(ctx.config.get("negativeBelow", -0.05)):
        label = "negative"
    else:
        label = "neutral"
    return {
        "label": label,
        "score": compound,
        "scores": {
            "positive": scores["pos"],
            "neutral": scores["neu"],
            "negative": scores["neg"],
        },
    }
