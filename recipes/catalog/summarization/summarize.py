"""summarization: abstractive summaries with a transformers sequence-to-sequence model.

The model (recipe.json `model` at its pinned `revision`) is downloaded when the recipe is
installed; the pod gets the local snapshot as `ctx.model` and loads it offline. The code uses
AutoTokenizer + AutoModelForSeq2SeqLM + generate() directly, so it works whether or not the
installed transformers still has the "summarization" pipeline (5.x removed it).

Input:  {"text": "...", "maxLength"?: 142, "minLength"?: 30}   or   {"texts": [...]}
Output: {"summary": "..."}   ({"summaries": [...]} for "texts")
"""

from __future__ import annotations

from typing import Any


def setup(ctx: Any) -> None:
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    if not ctx.model:
        raise RuntimeError(
            "no model: install the recipe (it downloads its model) or set PODKEEPER_MODEL_PATH"
        )
    device = ctx.config.get("device") or (
        "cuda" if torch.cuda.is_available() else "cpu"
    )
    ctx.log(f"loading {ctx.model} on {device}")
    tokenizer = AutoTokenizer.from_pretrained(ctx.model)
    model = AutoModelForSeq2SeqLM.from_pretrained(ctx.model).to(device)
    model.eval()
    ctx.state.update(tokenizer=tokenizer, model=model, device=device, torch=torch)


def summarize(ctx: Any, texts: list[str], payload: dict) -> list[str]:
    for text in texts:
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"texts must be non-empty strings, got {text!r}")
    state = ctx.state
    tokenizer, model = state["tokenizer"], state["model"]
    limit = getattr(tokenizer, "model_max_length", 1024)
    limit = limit if isinstance(limit, int) and 0 < limit < 100_000 else 1024
    inputs = tokenizer(
        texts, return_tensors="pt", truncation=True, max_length=limit, padding=True
    )
    inputs = {key: value.to(state["device"]) for key, value in inputs.items()}
    ctx.progress(0.1, "generating")
    with state["torch"].no_grad():
        output = model.generate(
            **inputs,
            max_length=int(payload.get("maxLength", ctx.config.get("maxLength", 142))),
            min_length=int(payload.get("minLength", ctx.config.get("minLength", 30))),
            num_beams=int(ctx.config.get("numBeams", 4)),
            early_stopping=True,
        )
    return [
        text.strip()
        for text in tokenizer.batch_decode(output, skip_special_tokens=True)
    ]


def process(payload: Any, ctx: Any) -> dict:
    if not isinstance(payload, dict):
        raise TypeError('expected {"text": "..."} or {"texts": ["...", ...]}')
    if "texts" in payload:
        return {"summaries": summarize(ctx, list(payload["texts"]), payload)}
    return {"summary": summarize(ctx, [payload.get("text")], payload)[0]}
