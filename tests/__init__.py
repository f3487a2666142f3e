"""The test suite. ``REPO`` is the checkout the tests run in."""

from pathlib import Path

#: The repository's root folder.
REPO = Path(__file__).resolve().parents[1]
