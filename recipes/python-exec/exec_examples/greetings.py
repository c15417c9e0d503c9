"""Deployed functions of the example manifest (`podkeeper.manifest.json`)."""

from __future__ import annotations

import asyncio


def hello(name: str = "world") -> str:
    print(f"greeting {name}")
    return f"Hello, {name}!"


async def hello_later(name: str = "world", delay: float = 0.01) -> str:
    await asyncio.sleep(delay)
    return f"Hello, {name}, a little later!"


def count_up(limit: int):
    """A generator: each number is streamed as a chunk."""
    yield from range(limit)


class Greeter:
    """A deployed class: instances persist in the pod like those sent as `class_code`."""

    def __init__(self, greeting: str = "Hello") -> None:
        self.greeting = greeting
        self.greeted: list[str] = []

    def greet(self, name: str) -> str:
        self.greeted.append(name)
        return f"{self.greeting}, {name}! ({len(self.greeted)} so far)"
