"""The demo's URLs as an ASGI project includes them (``intercom_identity.urls_async``), plus async
views the tests compare with: a bare authenticated view, a logout, and pages rendering the tag."""

from __future__ import annotations

from django.contrib.auth import alogout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import engines
from django.urls import include, path

from intercom_identity import aprepare_messenger
from project import urls as project_urls


async def hello(request: HttpRequest) -> HttpResponse:
    return HttpResponse("hello")


async def bare(request: HttpRequest) -> JsonResponse:
    """The least an async authenticated JSON view does: what the app's view is measured against."""
    user = await request.auser()
    if not user.is_authenticated:
        return JsonResponse({"error": "not_authenticated"}, status=401)
    return JsonResponse({"user_id": str(user.pk)})


async def log_out(request: HttpRequest) -> HttpResponse:
    await alogout(request)
    return HttpResponse("signed out")


async def page(request: HttpRequest) -> HttpResponse:
    await aprepare_messenger(request)
    return render(request, "project/home.html")


async def unprepared_page(request: HttpRequest) -> HttpResponse:
    """Only the tag (the demo's page reads ``user`` itself): what the tag does unprepared."""
    template = engines["django"].from_string("{% load intercom_identity %}<p>page</p>{% intercom_messenger %}")
    return HttpResponse(template.render(request=request))


urlpatterns = [
    path("intercom/", include("intercom_identity.urls_async")),
    path("async/hello/", hello),
    path("async/bare/", bare),
    path("async/logout/", log_out),
    path("async/page/", page),
    path("async/unprepared-page/", unprepared_page),
    *(pattern for pattern in project_urls.urlpatterns if str(pattern.pattern) != "intercom/"),
]
