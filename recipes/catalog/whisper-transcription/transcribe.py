"""whisper-transcription: speech to text with openai-whisper.

The checkpoint is one of the recipe's `files` (downloaded at install time, checked by sha256, at
config `checkpoint`); `ctx.model` wins when it names a checkpoint file. Nothing is fetched at run
time: the tokenizer's vocabularies ship inside the whisper package.

Input, one of:
  {"path": "/abs/audio.mp3"}           any format ffmpeg reads
  {"wav": "<base64 of a .wav file>"}   16-bit PCM WAV, read without ffmpeg
  {"samples": [...], "sampleRate": 16000}
plus optional "language" (e.g. "en"; default: detected) and "task" ("transcribe" | "translate").
Output: {"text": "...", "language": "en", "segments": [{"start", "end", "text"}]}
"""

from __future__ import annotations

import base64
import io
import os
import wave
from typing import Any

SAMPLE_RATE = 16000


def setup(ctx: Any) -> None:
    import torch
    import whisper

    checkpoint = ctx.model if ctx.model and os.path.isfile(ctx.model) else None
    checkpoint = checkpoint or os.path.join(
        ctx.recipe_dir, ctx.config.get("checkpoint", "models/base.pt")
    )
    device = ctx.config.get("device") or (
        "cuda" if torch.cuda.is_available() else "cpu"
    )
    ctx.log(f"loading {checkpoint} on {device}")
    ctx.state["model"] = whisper.load_model(checkpoint, device=device)
    ctx.state["fp16"] = device != "cpu"


def load_audio(payload: dict) -> Any:
    import numpy as np
    import whisper

    if "path" in payload:
        return whisper.load_audio(payload["path"])
    if "samples" in payload:
        rate = int(payload.get("sampleRate", SAMPLE_RATE))
        return resample(np.asarray(payload["samples"], dtype=np.float32), rate)
    if "wav" in payload:
        with wave.open(io.BytesIO(base64.b64decode(payload["wav"]))) as reader:
            if reader.getsampwidth() != 2:
                raise ValueError(
                    "only 16-bit PCM WAV can be read without ffmpeg: send a path instead"
                )
            frames = reader.readframes(reader.getnframes())
            audio = np.frombuffer(frames, dtype=np.int16).astype(np.float32) / 32768.0
            channels = reader.getnchannels()
            if channels > 1:
                audio = audio.reshape(-1, channels).mean(axis=1)
            return resample(audio, reader.getframerate())
    raise ValueError('expected "path", "wav" (base64) or "samples"')


def resample(audio: Any, rate: int) -> Any:
    import numpy as np

    if rate == SAMPLE_RATE:
        return audio
    positions = np.arange(0, len(audio), rate / SAMPLE_RATE)
    return np.interp(positions, np.arange(len(audio)), audio).astype(np.float32)


def process(payload: Any, ctx: Any) -> dict:
    if not isinstance(payload, dict):
        raise TypeError('expected {"path": ...}, {"wav": ...} or {"samples": [...]}')
    audio = load_audio(payload)
    ctx.progress(0.1, f"transcribing {len(audio) / SAMPLE_RATE:.1f} s of audio")
    result = ctx.state["model"].transcribe(
        audio,
        language=payload.get("language", ctx.config.get("language")),
        task=payload.get("task", "transcribe"),
        fp16=ctx.state["fp16"],
        verbose=None,
    )
    return {
        "text": result["text"].strip(),
        "language": result.get("language"),
        "segments": [
            {
                "start": round(s["start"], 2),
                "end": round(s["end"], 2),
                "text": s["text"].strip(),
            }
            for s in result.get("segments", [])
        ],
    }
