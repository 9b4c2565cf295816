from __future__ import annotations

from django.urls import path

from . import views

app_name = "intercom_identity"

urlpatterns = [
    path("user-hash/", views.user_hash, name="user-hash"),
    path("verify/", views.verify_credential, name="verify"),
]
