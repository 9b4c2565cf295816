"""The workspace tests' fixture for Intercom's secrets endpoints (tests/intercom_fake.py's ``FakeSecrets``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.intercom_fake import TOKENS, FakeIntercom, FakeSecrets


@pytest.fixture
def fake(intercom: FakeIntercom) -> Iterator[FakeSecrets]:
    """The production workspace's secrets; after the test, every request it got was well formed."""
    store = intercom.secrets(TOKENS["production"])
    yield store
    assert store.problems == []  # every request had the token, the Preview version and a valid body
