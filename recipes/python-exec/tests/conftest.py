"""Unit tests of the python-exec modules, run in this interpreter (the end-to-end suites are in test/)."""

from __future__ import annotations

import sys
from pathlib import Path

RECIPE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(RECIPE_DIR))
