"""The demo's URLs under ASGI: the same site, with the app's async views (``urls_async``)."""

from django.urls import include, path

from project import urls, views

REPLACED = {"intercom/", "api/whoami/"}

urlpatterns = [
    path("intercom/", include("intercom_identity.urls_async")),
    path("api/whoami/", views.awhoami, name="whoami"),
    *(pattern for pattern in urls.urlpatterns if str(pattern.pattern) not in REPLACED),
]
