from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("api/login/", views.mobile_login, name="mobile-login"),
    path("api/whoami/", views.whoami, name="whoami"),
    path("mobile/", views.mobile_app, name="mobile-app"),
    path("intercom/", include("intercom_identity.urls")),
    path("admin/", admin.site.urls),
    # Browsers ask for /favicon.ico on pages that name no icon (the admin's): no 404 in every log.
    path("favicon.ico", views.favicon, name="favicon"),
]
