from __future__ import annotations

from django.urls import path

from intercom_identity import views

app_name = "intercom_identity"

urlpatterns = [
    path("user-hash/", views.user_hash, name="user-hash"),
    path("verify/", views.verify_credential, name="verify"),
    # The same views without the trailing slash: APPEND_SLASH cannot redirect a POST (a 500
    # under DEBUG), and its redirect of a GET is an empty HTML answer to a JSON client.
    path("user-hash", views.user_hash),
    path("verify", views.verify_credential),
]
