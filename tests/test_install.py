"""The package as a new user gets it: the sdist and wheel, and the installation page's steps, as written.

``make test-install`` runs these (``-m install``; the everyday suite leaves them out: they build the
package and make virtual environments, a minute or two with pip's cache). The wheel is installed into a
fresh venv *after* the newest Django of a supported line, which pip must leave alone; a brand-new
``django-admin startproject`` then gets the installation page's steps literally: its shell blocks run in one bash
session (the wheel standing in for ``intercom-identity`` on the ``pip install`` line), its Python blocks
are appended to ``settings.py`` and ``urls.py``, and its template block is rendered. The hashes of the
tag and of the JSON view must equal what ``openssl dgst -sha256 -hmac`` prints. On the newest Python
with the newest Django, and on Python 3.10 with Django 5.2; a missing interpreter fails, naming it.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from pathlib import Path

import pytest

from tests import interpreters, leakguard
from tests.helpers import openssl_hmac

pytestmark = pytest.mark.install

ROOT = Path(__file__).resolve().parent.parent
# The installation page's steps, and the web page's template that renders the messenger.
INSTALL_PAGES = (ROOT / "docs" / "installation.md", ROOT / "docs" / "web.md")
STEP = re.compile(r"<!-- install-step: (?P<name>[\w.]+) -->\n[ ]*```\w*\n(?P<body>.*?)\n[ ]*```", re.S)
PIP_LINE = re.compile(r"^(python -m pip install )intercom-identity$", re.M)
SET_APP_ID = re.compile(r"intercom_identity set-app-id (?P<env>\S+) (?P<app_id>\S+)")
SETTINGS_SCRIPT = re.compile(r"<script\b[^>]*>window\.intercomSettings = (.*?);</script>", re.S)
# Variables of this suite's process that a new user's shell would not have.
NOT_A_USERS = ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "PYTHONPATH", "VIRTUAL_ENV", "INTERCOM_IDENTITY_KEY")

CHECK = """
import json, os, sys

sys.path.insert(0, os.getcwd())  # the project beside manage.py, as manage.py has it
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
import django

django.setup()
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.template import RequestContext, Template
from django.test import Client, RequestFactory
from django.test.utils import setup_test_environment

call_command("check", "--database", "default", "--fail-level", "WARNING")  # not even a warning
setup_test_environment()  # the test client's host name
user = get_user_model().objects.create_user("newcomer", "newcomer@example.com", "pw-newcomer-1")
request = RequestFactory().get("/")
request.user = user
with open(sys.argv[1], encoding="utf-8") as template:
    html = Template(template.read()).render(RequestContext(request))
client = Client()
client.force_login(user)
response = client.get("/intercom/user-hash/", {"platform": "web"})
result = {"user_id": str(user.pk), "html": html, "status": response.status_code, "body": response.json()}

# A superuser signs in through the login form and loads every admin page of the app, then every
# static file those pages reference, served from STATIC_ROOT as a static file server would.
import re
from pathlib import Path

from django.conf import settings
from django.contrib import admin
from django.http import Http404
from django.urls import NoReverseMatch, reverse
from django.views.static import serve

from intercom_identity.models import PlatformConfig

get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-boss-1")
boss = Client(raise_request_exception=False)  # a 500 is a status to report, as a browser would see it
signed_in = boss.post("/admin/login/", {"username": "boss", "password": "pw-boss-1", "next": "/admin/"})
result["login"] = signed_in.status_code
pages = ["/admin/", reverse("admin:app_list", args=["intercom_identity"])]
for model in admin.site._registry:
    opts = model._meta
    if opts.app_label != "intercom_identity":
        continue
    name = f"admin:{opts.app_label}_{opts.model_name}"
    pages.append(reverse(f"{name}_changelist"))
    first = model._default_manager.order_by("pk").first()
    if first is not None:
        try:
            pages += [reverse(f"{name}_change", args=[first.pk]), reverse(f"{name}_history", args=[first.pk])]
        except NoReverseMatch:  # the overview's index entry has one page, its changelist
            pass
web = PlatformConfig.objects.get(environment__slug="development", platform="web")
pages += [
    reverse("admin:intercom_identity_platformconfig_overview"),
    reverse("admin:intercom_identity_platformconfig_check"),
    reverse("admin:intercom_identity_platformconfig_transition", args=[web.pk]) + "?to=phase:enforced",
    reverse("admin:intercom_identity_platformconfig_transition", args=[web.pk]) + "?to=phase:off",
]
result["admin"], static = {}, set()
for page in pages:
    response = boss.get(page)
    result["admin"][page] = response.status_code
    if response.status_code == 200:
        static |= set(re.findall(r'(?:href|src)="(/static/[^"?#]+)', response.content.decode()))
result["static"] = {}
for url in sorted(static):
    try:
        served = serve(RequestFactory().get(url), url.removeprefix("/static/"), document_root=settings.STATIC_ROOT)
        result["static"][url] = served.status_code
    except Http404:
        result["static"][url] = 404
with open(sys.argv[2], "w", encoding="utf-8") as out:
    json.dump(result, out)
"""


# Appended to the new project's settings before the README's steps: a production-like deployment.
PRODUCTION_LIKE = """
# make test-install: deployed as production is.
import os

DEBUG = os.environ.get("SITE_DEBUG") == "1"
ALLOWED_HOSTS = ["localhost", "testserver"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
}
"""


def project_version() -> str:
    match = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text("utf-8"), re.M)
    assert match, "pyproject.toml has no version"
    return match[1]


def django_lines() -> dict[str, str]:
    """Each supported Django line and the release its constraints file pins, oldest line first."""
    pins = {}
    for path in (ROOT / "constraints").glob("django-*.txt"):
        match = re.search(r"^Django==(\S+)$", path.read_text("utf-8"), re.M)
        assert match, f"{path.name} pins no Django release"
        pins[path.stem.removeprefix("django-")] = match[1]
    return dict(sorted(pins.items(), key=lambda item: tuple(int(part) for part in item[0].split("."))))


def install_steps() -> list[tuple[str, str]]:
    return [
        (m["name"], textwrap.dedent(m["body"]) + "\n")
        for page in INSTALL_PAGES
        for m in STEP.finditer(page.read_text("utf-8"))
    ]


def user_environment(venv: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in NOT_A_USERS}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def run(what: str, command: list[str], *, timeout: float = 600, **kwargs: object) -> str:
    """Run ``command``; its output, or a failure saying ``what`` failed with the output (never the command)."""
    completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False, **kwargs)  # type: ignore[call-overload]
    output = f"{completed.stdout}\n{completed.stderr}"
    if completed.returncode != 0:
        pytest.fail(f"{what} failed (exit {completed.returncode}):\n{output}", pytrace=False)
    return output  # type: ignore[no-any-return]


# --- the release files ---------------------------------------------------------------


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """``python -m build``: the sdist, then the wheel built from it; the folder and build's output."""
    out = tmp_path_factory.mktemp("dist")
    output = run(
        "python -m build", [sys.executable, "-m", "build", "--outdir", str(out), str(clean_source(tmp_path_factory))]
    )
    return out, output


def clean_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The checkout's files as a fresh clone has them (tracked or new, never ignored), in a new folder.

    Built in the checkout itself, a leftover ``*.egg-info/SOURCES.txt`` (from ``pip install -e .``)
    lists every file once shipped and setuptools adds them again: it hid a stylesheet the
    package-data rules left out of the wheel.
    """
    listed = run("git ls-files", ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT)
    source = tmp_path_factory.mktemp("source")
    for name in filter(None, listed.split("\0")):
        name = name.strip("\n")
        if not name or not (ROOT / name).is_file():  # deleted in the work tree, not yet committed
            continue
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    return source


def wheel_of(dist: tuple[Path, str]) -> Path:
    (wheel,) = dist[0].glob("*.whl")
    return wheel


def test_build_makes_one_sdist_and_one_wheel_without_deprecation_banners(dist: tuple[Path, str]) -> None:
    folder, output = dist
    version = project_version()
    assert sorted(path.name for path in folder.iterdir()) == [
        f"intercom_identity-{version}-py3-none-any.whl",
        f"intercom_identity-{version}.tar.gz",
    ]
    banner = re.search(r"\w*DeprecationWarning|\bdeprecated\b", output, re.I)  # setuptools' licence one, or any
    assert banner is None, output


def test_twine_check_passes(dist: tuple[Path, str]) -> None:
    files = [str(path) for path in sorted(dist[0].iterdir())]
    output = run("twine check", [sys.executable, "-m", "twine", "check", "--strict", *files])
    assert output.count("PASSED") == 2, output


def test_the_wheel_holds_the_app_templates_static_migrations_types_and_licence_only(
    dist: tuple[Path, str],
) -> None:
    version = project_version()
    with zipfile.ZipFile(wheel_of(dist)) as wheel:
        names = set(wheel.namelist())
        metadata = wheel.read(f"intercom_identity-{version}.dist-info/METADATA").decode()
    package = ROOT / "intercom_identity"
    needed = {"intercom_identity/py.typed", f"intercom_identity-{version}.dist-info/licenses/LICENSE"}
    # Every file under templates/ and static/ (the admin stylesheet was once left out: a 500 under
    # ManifestStaticFilesStorage on every admin page of the app).
    for folder in ("templates", "static"):
        needed |= {path.relative_to(ROOT).as_posix() for path in (package / folder).rglob("*") if path.is_file()}
    assert "intercom_identity/static/intercom_identity/admin.css" in needed
    needed |= {path.relative_to(ROOT).as_posix() for path in (package / "migrations").glob("*.py")}
    assert needed <= names, sorted(needed - names)
    assert {name.split("/")[0] for name in names} == {"intercom_identity", f"intercom_identity-{version}.dist-info"}
    assert not [name for name in names if "/tests/" in name or name.endswith(("conftest.py", ".pyc"))]

    assert "License-Expression: MIT" in metadata
    assert "License-File: LICENSE" in metadata
    requires = re.findall(r"^Requires-Dist: (.+)$", metadata, re.M)
    assert "Django>=5.2" in requires  # a floor, no cap: pip keeps a project's newer Django
    assert re.findall(r"^Requires-Python: (.+)$", metadata, re.M) == [">=3.10"]
    classifiers = set(re.findall(r"^Classifier: (.+)$", metadata, re.M))
    assert {f"Framework :: Django :: {line}" for line in django_lines()} <= classifiers
    assert {f"Programming Language :: Python :: {version}" for version in interpreters.REQUIRED} <= classifiers


def test_the_sdist_holds_the_sources_licence_and_changelog_and_no_tests(dist: tuple[Path, str]) -> None:
    version = project_version()
    (sdist,) = dist[0].glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.removeprefix(f"intercom_identity-{version}/") for name in archive.getnames()}
    assert {"LICENSE", "CHANGELOG.md", "README.md", "pyproject.toml", "intercom_identity/py.typed"} <= names
    assert not [name for name in names if name.startswith(("tests", "project", "bench", "docs"))]


def test_the_version_lives_in_pyproject_and_the_changelog_starts_with_it() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text("utf-8")
    releases = re.findall(r"^## \[(\d[^\]]*)\] - \d{4}-\d{2}-\d{2}$", changelog, re.M)
    assert releases, "CHANGELOG.md names no release as '## [X.Y.Z] - YYYY-MM-DD'"
    assert releases[0] == project_version()


# --- the installation page's steps, as a new user follows them -------------------------------------


def test_the_readme_has_each_install_step() -> None:
    names = [name for name, _ in install_steps()]
    assert names.count("settings.py") == names.count("urls.py") == names.count("template") == 1, names
    shell = "".join(body for name, body in install_steps() if name == "shell")
    assert len(PIP_LINE.findall(shell)) == 1, "no single 'python -m pip install intercom-identity' line"
    assert SET_APP_ID.search(shell), "the steps do not set the app ID"
    assert "manage.py collectstatic" in shell, "the steps do not deploy the static files"
    assert "manage.py intercom_identity prune-activity" in shell, "the steps do not schedule prune-activity"
    installation = INSTALL_PAGES[0].read_text("utf-8")
    assert "Until the package is published" in installation, "nothing says how to install the wheel"
    assert shell.index("INTERCOM_IDENTITY_KEY") < shell.index("manage.py"), "the key is read before it is made"


@pytest.mark.parametrize(
    ("python", "line"),
    [
        pytest.param(interpreters.REQUIRED[-1], list(django_lines())[-1], id="newest-python-newest-django"),
        pytest.param("3.10", "5.2", id="python3.10-django5.2"),
    ],
)
def test_the_readme_install_steps_work_as_written(
    python: str, line: str, dist: tuple[Path, str], tmp_path: Path
) -> None:
    interpreter = interpreters.find(python)
    if interpreter is None:
        pytest.fail(interpreters.missing_message(python), pytrace=False)
    django_release = django_lines()[line]
    venv = tmp_path / "venv"
    run(f"python{python} -m venv", [str(interpreter), "-m", "venv", str(venv)])
    env = user_environment(venv)
    py = str(venv / "bin" / "python")
    version_of_django = [py, "-c", "import django; print(django.get_version())"]

    # The user's project comes first, on the newest Django of its line.
    run(f"pip install Django=={django_release}", [py, "-m", "pip", "install", f"Django=={django_release}"], env=env)
    assert run("django version", version_of_django, env=env).strip() == django_release
    site = tmp_path / "site"
    site.mkdir()
    run("django-admin startproject", [str(venv / "bin" / "django-admin"), "startproject", "mysite", str(site)], env=env)

    # Deployed as production is: DEBUG off (SITE_DEBUG=1 turns it on, for the key-less checks below),
    # ManifestStaticFilesStorage (a static file missing from the wheel is a 500 on every page using it).
    with (site / "mysite" / "settings.py").open("a", encoding="utf-8") as target:
        target.write(PRODUCTION_LIKE)
    # The README's steps: files edited as it says, then its shell blocks in one session.
    shell, template = "", ""
    for name, body in install_steps():
        if name in ("settings.py", "urls.py"):
            with (site / "mysite" / name).open("a", encoding="utf-8") as target:
                target.write("\n" + body)
        elif name == "template":
            template = body
        else:
            shell += body
    shell = PIP_LINE.sub(lambda match: match[1] + str(wheel_of(dist)), shell)
    (tmp_path / "page.html").write_text(template, "utf-8")
    (tmp_path / "check.py").write_text(CHECK, "utf-8")
    # The check runs on the new project, with deprecations as errors there too.
    check = f"python -W error::DeprecationWarning -W error::PendingDeprecationWarning {tmp_path / 'check.py'}"
    script = f"set -euo pipefail\n{shell}{check} {tmp_path / 'page.html'} {tmp_path / 'result.json'}\n"
    secret = "install-" + secrets.token_hex(20)
    leakguard.remember_secret(secret)  # the steps' output must not show it: the leak guard reads it
    output = run("the installation page's steps", ["bash", "-c", script], cwd=site, env=env, input=secret + "\n")
    leakguard.record("the installation page's steps", output)

    # pip kept the user's Django.
    after = run("django version", version_of_django, env=env).strip()
    assert after == django_release, f"pip changed the project's Django from {django_release} to {after}"
    assert not re.search(r"uninstall\w*:? django", output, re.I), output

    result = json.loads((tmp_path / "result.json").read_text("utf-8"))
    expected = openssl_hmac(secret, result["user_id"])
    readme_app_id = SET_APP_ID.search(shell)
    assert readme_app_id
    # The JSON view.
    assert result["status"] == 200
    body = result["body"]
    assert (body["environment"], body["platform"], body["phase"]) == (readme_app_id["env"], "web", "sending")
    assert body["user_hash"] == expected
    # The template block renders one messenger (its settings, the session script as a static file, named
    # by the manifest as collectstatic hashed it, and its bootstrap), with the same hash and the app ID the
    # steps set.
    found = SETTINGS_SCRIPT.findall(result["html"])
    assert len(found) == 1, result["html"]
    assert len(re.findall(r"<script\b", result["html"])) == 3, result["html"]
    hashed_script = r'<script src="/static/intercom_identity/messenger\.[0-9a-f]{12}\.js"'
    assert re.search(hashed_script, result["html"]), result["html"]
    settings = json.loads(found[0])
    assert settings["app_id"] == readme_app_id["app_id"]
    assert settings["user_id"] == result["user_id"]
    assert settings["user_hash"] == expected

    # Every admin page of the app and every static file they reference: 200, the app's own included.
    assert result["login"] == 302
    assert {page: status for page, status in result["admin"].items() if status != 200} == {}
    assert len(result["admin"]) >= 10, result["admin"]
    assert {url: status for url, status in result["static"].items() if status != 200} == {}
    assert [url for url in result["static"] if url.startswith("/static/intercom_identity/admin.")], result["static"]

    # The settings of step 3 as printed, without the key: DEBUG runs (warning W001 only), production refuses.
    manage = [py, "manage.py", "check"]
    debug = run("check in DEBUG without a key", manage, cwd=site, env={**env, "SITE_DEBUG": "1"})
    assert "intercom_identity.W001" in debug, debug
    refused = subprocess.run(manage, cwd=site, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert refused.returncode != 0
    assert "ImproperlyConfigured: Set INTERCOM_IDENTITY_KEY" in refused.stderr, refused.stderr
