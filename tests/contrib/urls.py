"""The demo's URLs plus each login library's own, and the documentation's recipes as printed."""

from __future__ import annotations

from django.urls import include, path
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from project.urls import urlpatterns as demo_urlpatterns
from tests.helpers import doc_module

PAGE = "login-stacks.md"

# The login libraries' URLs, beside the demo's here and beside the async views' in ``urls_async``.
login_urlpatterns = [
    *doc_module(PAGE, "rest_framework").urlpatterns,  # /api/intercom/identity/
    path("api/token/", TokenObtainPairView.as_view(), name="token_obtain_pair"),
    path("api/token/refresh/", TokenRefreshView.as_view(), name="token_refresh"),
    path("dj-rest-auth/", include("dj_rest_auth.urls")),
    *doc_module(PAGE, "djoser").urlpatterns,  # /auth/token/login/
    *doc_module(PAGE, "knox").urlpatterns,  # /api/knox/login/
    path("_allauth/", include("allauth.headless.urls")),
]

urlpatterns = [*demo_urlpatterns, *login_urlpatterns]
