"""The three platforms Intercom identifies users on: their names and how sentences name them.

Plain data, importable before the app registry is ready (``conf`` validates settings against
the names; ``models.Platform`` and the diagnoses of ``verification`` use the labels).
"""

from __future__ import annotations

LABELS = {"ios": "iOS", "android": "Android", "web": "Web"}
NAMES = tuple(LABELS)


def label(platform: str) -> str:
    """``"iOS"`` for ``"ios"``; an unknown name is returned as it is."""
    return LABELS.get(platform, platform)
