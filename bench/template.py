"""Benchmark 3: the template tags against a template rendering ``{{ user.pk }}``, beside the peers.

Usage (``make bench`` runs it with the defaults)::

    .venv/bin/python bench/template.py [--quick] [--renders 20000] [--rounds 7] [--no-peers]

In one process, with the demo site's settings (``project.settings``: its TEMPLATES and their
context processors, the default local-memory cache) on a SQLite database in memory: a
signed-in user, the web platform's secret stored and its phase "sending". Every template is
rendered with a fresh ``RequestContext`` for every render, built from one RequestFactory
request carrying the user, a session and the messages storage, so the context processors run
each time, as on a real page.

Baseline: ``{{ user.pk }}``. Measured: ``{% intercom_settings %}`` (target at most 1.5x) and
``{% intercom_messenger %}``, the settings, the session script's element and its bootstrap
(target at most 1.6x); beside them, like for like, each peer's full Intercom tag for the same
signed-in user with identity verification on: django-analytical's ``{% intercom %}`` and
django-intercom's ``{% intercom_tag %}``. The peers (``bench/requirements-peers.txt``) are
installed by this script into ``build/bench-peers`` (``pip install --target``), never into the
package's environment; ``--no-peers`` leaves them out. Rounds alternate the templates' order;
each figure is the best round.
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
MESSENGER_TARGET = 1.6
PEERS_DIR = Path(__file__).resolve().parent.parent / "build" / "bench-peers"
PEERS_REQUIREMENTS = Path(__file__).resolve().parent / "requirements-peers.txt"
SECRET = "bench-web-0123456789abcdef0123456789abcdef01"
BASELINE_SOURCE = "{{ user.pk }}"
TAG_SOURCE = "{% load intercom_identity %}{% intercom_settings %}"
MESSENGER_SOURCE = "{% load intercom_identity %}{% intercom_messenger %}"
# The peers' tag libraries are both named "intercom": each gets a name of its own here.
PEER_SOURCES = {
    "django-analytical": "{% load analytical_intercom %}{% intercom %}",
    "django-intercom": "{% load django_intercom_tag %}{% intercom_tag %}",
}


def install_peers() -> None:
    """The peers in the benchmark's own directory, then importable by this process only."""
    if not (PEERS_DIR / "analytical").exists() or not (PEERS_DIR / "django_intercom").exists():
        import subprocess

        subprocess.run(  # noqa: S603 (our own command line)
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--target",
                str(PEERS_DIR),
                "-r",
                str(PEERS_REQUIREMENTS),
            ],
            check=True,
        )
    sys.path.append(str(PEERS_DIR))


def configure_peers() -> None:
    """Both peers configured as their READMEs say, identity verification on, before their import."""
    from django.conf import settings

    settings.INTERCOM_APP_ID = settings.INTERCOM_APPID = "bench_app"  # django-analytical, django-intercom
    settings.INTERCOM_HMAC_SECRET_KEY = settings.INTERCOM_SECURE_KEY = SECRET
    options = settings.TEMPLATES[0].setdefault("OPTIONS", {})
    options.setdefault("libraries", {}).update(
        analytical_intercom="analytical.templatetags.intercom",
        django_intercom_tag="django_intercom.templatetags.intercom",
    )
    settings.TEMPLATES[0].setdefault("DIRS", []).append(str(PEERS_DIR / "django_intercom" / "templates"))


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
    parser.add_argument("--no-peers", action="store_true", help="leave django-analytical and django-intercom out")
    args = parser.parse_args()
    renders = 200 if args.quick else args.renders
    rounds = 2 if args.quick else args.rounds

    configure_environment()
    if not args.no_peers:
        install_peers()
    import django

    django.setup()
    if not args.no_peers:
        configure_peers()
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

    start("bench/template.py: the template tags against {{ user.pk }}, beside the peers (benchmark 3)")
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
    measured = {
        f"Template({TAG_SOURCE!r})": Template(TAG_SOURCE),
        f"Template({MESSENGER_SOURCE!r})": Template(MESSENGER_SOURCE),
    }
    if not args.no_peers:
        measured.update({f"{peer}: {source}": Template(source) for peer, source in PEER_SOURCES.items()})
    rendered = {name: template.render(RequestContext(request)) for name, template in measured.items()}
    tag_html, messenger_html = list(rendered.values())[:2]
    if "window.intercomSettings" not in tag_html or '"user_hash"' not in tag_html:
        raise SystemExit(f"error: the tag did not render the identity: {tag_html!r}")
    if "intercomIdentityBoot(" not in messenger_html or '"user_hash"' not in messenger_html:
        raise SystemExit(f"error: intercom_messenger did not render the identity: {messenger_html!r}")
    for name, html in list(rendered.items())[2:]:
        if "bench_app" not in html or SECRET in html:
            raise SystemExit(f"error: {name} did not render the messenger: {html!r}")
    if baseline.render(RequestContext(request)) != str(user.pk):
        raise SystemExit("error: the baseline template did not render the user's pk")
    inline = len(messenger_html.encode())
    print(f"{{% intercom_messenger %}} for a signed-in user: {inline:,} bytes inline per page (target <= 2,048)")

    templates = [baseline, *measured.values()]
    timers = [
        timeit.Timer(lambda template=template: template.render(RequestContext(request))) for template in templates
    ]
    for timer in timers:  # warm up
        timer.timeit(max(1, renders // 10))
    best = [float("inf")] * len(timers)
    for number in range(rounds):
        order = list(enumerate(timers))
        for index, timer in order if number % 2 == 0 else order[::-1]:
            best[index] = min(best[index], timer.timeit(renders) / renders * 1e6)
    ratios = [figure / best[0] for figure in best]
    targets = [TARGET, MESSENGER_TARGET]
    rows = [Row(f"Template({BASELINE_SOURCE!r}) (baseline)", f"{best[0]:.2f} us/render", 1.0)]
    for index, name in enumerate(measured, start=1):
        if index <= len(targets):
            target = targets[index - 1]
            rows.append(
                Row(name, f"{best[index]:.2f} us/render", ratios[index], f"<= {target}x", ratios[index] <= target)
            )
        else:
            rows.append(Row(name, f"{best[index]:.2f} us/render", ratios[index], "reported"))
    print_table(
        f"best of {rounds} alternating rounds of {renders:,} renders, each with a fresh RequestContext",
        rows,
        figure_header="time",
    )
    print(
        f"template tag: {ratios[1]:.3f}x the {{{{ user.pk }}}} template (target <= {TARGET}x: "
        f"{'PASS' if ratios[1] <= TARGET else 'MISS'}); the tag adds {best[1] - best[0]:.2f} us per render."
    )
    print(
        f"intercom_messenger: {ratios[2]:.3f}x the {{{{ user.pk }}}} template (target <= {MESSENGER_TARGET}x: "
        f"{'PASS' if ratios[2] <= MESSENGER_TARGET else 'MISS'})"
        + "".join(f"; {peer}'s tag {ratio:.3f}x" for peer, ratio in zip(PEER_SOURCES, ratios[3:], strict=False))
        + "."
    )


if __name__ == "__main__":
    main()
