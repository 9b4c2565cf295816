"""The app's URLs for a project served by an ASGI server (uvicorn, granian, daphne): the same
paths and names as ``intercom_identity.urls``, routed to the async views. Include one or the
other: under WSGI the sync views are what Django runs without an event loop."""

from __future__ import annotations

from django.urls import path

from intercom_identity import views

app_name = "intercom_identity"

urlpatterns = [
    path("user-hash/", views.auser_hash, name="user-hash"),
    path("verify/", views.averify_credential, name="verify"),
    # The same views without the trailing slash (see intercom_identity.urls).
    path("user-hash", views.auser_hash),
    path("verify", views.averify_credential),
]
