"""The messenger's cookies: which names, on which domains (pure rules)."""

from __future__ import annotations

import pytest

from intercom_identity.messenger.cookies import cookie_domains, expired_cookie, messenger_cookie_names


@pytest.mark.parametrize(
    ("host", "configured", "expected"),
    [
        ("localhost", None, [None]),
        ("127.0.0.1", None, [None]),
        ("[::1]", None, [None]),
        ("example.com", None, [None, "example.com"]),
        ("App.EU.example.com.", None, [None, "app.eu.example.com", "eu.example.com", "example.com"]),
        ("app.eu.example.com", ".example.com", [".example.com"]),
    ],
)
def test_cookie_domains(host: str, configured: str | None, expected: list[str | None]) -> None:
    assert cookie_domains(host, configured) == expected


def test_a_host_of_many_labels_gets_its_ten_top_domains() -> None:
    domains = cookie_domains("a.b.c.d.e.f.g.h.i.j.k.l.m.n.com")
    assert len(domains) == 11
    assert domains[:2] == [None, "e.f.g.h.i.j.k.l.m.n.com"]
    assert domains[-1] == "n.com"


def test_cookie_names_are_those_of_the_session_and_the_visitor_only() -> None:
    assert messenger_cookie_names("abc123") == ("intercom-session-abc123", "intercom-id-abc123")
    assert messenger_cookie_names("") == ()
    assert messenger_cookie_names("abc; Domain=evil.example") == ()


def test_an_expired_cookie_is_empty_at_path_slash_since_1970() -> None:
    header = expired_cookie("intercom-session-abc123", ".example.com", secure=True).output(header="").strip()
    assert header == (
        'intercom-session-abc123=""; Domain=.example.com; expires=Thu, 01 Jan 1970 00:00:00 GMT; '
        "Max-Age=0; Path=/; SameSite=Lax; Secure"
    )
    assert "Domain" not in expired_cookie("intercom-id-abc123", None, secure=False).output()
