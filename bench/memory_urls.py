"""The URLconf of ``bench/memory_settings.py``: the demo's pages without intercom_identity.

``/`` is a bare signed-in page (the demo's home page without the template tag), ``/api/bare/`` a
bare authenticated ``JsonResponse`` (the JSON view's counterpart); the admin as in the demo.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import engines
from django.urls import path

PAGE = engines["django"].from_string(
    '{% load static %}<!doctype html><html lang="en"><head><meta charset="utf-8">'
    "<title>intercom-identity demo</title>"
    '<link rel="stylesheet" href="{% static \'project/demo.css\' %}"></head>'
    "<body><main><p>Signed in as <strong>{{ user.get_username }}</strong>.</p>"
    '<form method="post" action="{% url \'admin:logout\' %}">{% csrf_token %}<button>Sign out</button></form>'
    "</main></body></html>"
)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PAGE.render({}, request))


def bare(request: HttpRequest) -> JsonResponse:
    if not request.user.is_authenticated:
        return JsonResponse({"error": "not_authenticated"}, status=401)
    return JsonResponse({"user_id": str(request.user.pk), "platform": request.GET.get("platform", "")})


urlpatterns = [
    path("", home, name="home"),
    path("api/bare/", bare, name="bare"),
    path("admin/", admin.site.urls),
]
