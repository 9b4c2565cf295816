"""Benchmark 3: the ``{% intercom_settings %}`` template tag against a template rendering ``{{ user.pk }}``.

Usage (``make bench`` runs it with the defaults)::

    .venv/bin/python bench/template.py [--quick] [--renders 20000] [--rounds 7]

In one process, with the demo site's settings (``project.settings``: its TEMPLATES and their
context processors, the default local-memory cache) on a SQLite database in memory: a
signed-in user, the web platform's secret stored and its phase "sending". Both templates
are rendered with a fresh ``RequestContext`` for every render, built from one
RequestFactory request carrying the user, a session and the messages storage, so the
context processors run each time, as on a real page.

Baseline: ``{{ user.pk }}``. Measured: ``{% load intercom_identity %}{% intercom_settings %}``.
Target: at most 1.5x (measured this way, django-analytical's tag is 2.2x and
django-intercom's 5.0x). Rounds alternate baseline and tag; each figure is the best round.
"""

from __future__ import annotations

import argparse
import os
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Row, print_table, start

TARGET = 1.5
SECRET = "bench-web-0123456789abcdef0123456789abcdef01"
BASELINE_SOURCE = "{{ user.pk }}"
TAG_SOURCE = "{% load intercom_identity %}{% intercom_settings %}"


def configure_environment() -> None:
    """The demo settings, production-like: DEBUG off (no query log), a database in memory."""
    from cryptography.fernet import Fernet

    os.environ["DJANGO_SETTINGS_MODULE"] = "project.settings"
    os.environ["DEBUG"] = "False"
    os.environ["SECRET_KEY"] = "bench-template-secret-key-not-for-production"
    os.environ["DATABASE_URL"] = "sqlite://:memory:"
    os.environ["CACHE_URL"] = "locmemcache://"
    os.environ["INTERCOM_IDENTITY_ENVIRONMENT"] = "development"
    os.environ["INTERCOM_IDENTITY_ENCRYPTION_KEYS"] = Fernet.generate_key().decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny run (a check that it works, not a measurement)")
    parser.add_argument("--renders", type=int, default=20_000, help="renders per round and template")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    renders = 200 if args.quick else args.renders
    rounds = 2 if args.quick else args.rounds

    configure_environment()
    import django

    django.setup()
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.messages.storage import default_storage
    from django.contrib.sessions.backends.base import SessionBase
    from django.core.management import call_command
    from django.template import RequestContext, Template
    from django.test import RequestFactory

    from intercom_identity.models import Environment, RolloutPhase
    from intercom_identity.rollout.changes import change_phase, store_secret
    from intercom_identity.selectors import get_platform_config

    start("bench/template.py: {% intercom_settings %} against {{ user.pk }} (benchmark 3)")
    call_command("migrate", verbosity=0)
    Environment.objects.filter(slug="development").update(app_id="bench_app")
    config = get_platform_config("web", "development")
    store_secret(config, SECRET)
    change_phase(config, RolloutPhase.SENDING)
    user = get_user_model().objects.create_user("bench", "bench@example.com", "pw")

    request = RequestFactory().get("/")
    request.user = user
    session: SessionBase = import_module(settings.SESSION_ENGINE).SessionStore()
    request.session = session
    request._messages = default_storage(request)  # type: ignore[attr-defined]

    baseline = Template(BASELINE_SOURCE)
    tag = Template(TAG_SOURCE)
    rendered = tag.render(RequestContext(request))
    if "window.intercomSettings" not in rendered or '"user_hash"' not in rendered:
        raise SystemExit(f"error: the tag did not render the identity: {rendered!r}")
    if baseline.render(RequestContext(request)) != str(user.pk):
        raise SystemExit("error: the baseline template did not render the user's pk")

    timers = [
        timeit.Timer(lambda: baseline.render(RequestContext(request))),
        timeit.Timer(lambda: tag.render(RequestContext(request))),
    ]
    for timer in timers:  # warm up
        timer.timeit(max(1, renders // 10))
    best = [float("inf"), float("inf")]
    for _ in range(rounds):
        for index, timer in enumerate(timers):
            best[index] = min(best[index], timer.timeit(renders) / renders * 1e6)
    ratio = best[1] / best[0]
    print_table(
        f"best of {rounds} alternating rounds of {renders:,} renders, each with a fresh RequestContext",
        [
            Row(f"Template({BASELINE_SOURCE!r}) (baseline)", f"{best[0]:.2f} us/render", 1.0),
            Row(f"Template({TAG_SOURCE!r})", f"{best[1]:.2f} us/render", ratio, f"<= {TARGET}x", ratio <= TARGET),
        ],
        figure_header="time",
    )
    print(
        f"template tag: {ratio:.3f}x the {{{{ user.pk }}}} template (target <= {TARGET}x: "
        f"{'PASS' if ratio <= TARGET else 'MISS'}); the tag adds {best[1] - best[0]:.2f} us per render."
    )
    print("for comparison, measured the same way: django-analytical's tag 2.2x, django-intercom's 5.0x.")


if __name__ == "__main__":
    main()
