"""Deprecations are errors in every environment of the matrix (``filterwarnings`` in pyproject.toml).

Django announces a removal with a ``RemovedIn...`` warning, a ``DeprecationWarning`` (next release) or
``PendingDeprecationWarning`` (the one after): the suite fails on either, so each is fixed in the
release that announces it.
"""

from __future__ import annotations

import warnings

import django.utils.deprecation
import pytest
from django.contrib.admin.sites import site
from django.test import Client, RequestFactory

from intercom_identity.models import Environment


@pytest.mark.parametrize("category", [DeprecationWarning, PendingDeprecationWarning])
def test_a_deprecation_warning_fails_the_test(category: type[Warning]) -> None:
    with pytest.raises(category):
        warnings.warn("an API on its way out", category, stacklevel=1)


def test_djangos_own_removal_warnings_fail_the_test() -> None:
    removals = [
        value
        for name, value in vars(django.utils.deprecation).items()
        if name.startswith("RemovedIn") and isinstance(value, type)
    ]
    assert removals  # every Django line has at least the next one
    for category in removals:
        assert issubclass(category, (DeprecationWarning, PendingDeprecationWarning))
        with pytest.raises(category):
            warnings.warn("removed soon", category, stacklevel=1)


@pytest.mark.django_db
def test_the_environment_admin_has_no_bulk_delete_on_every_django(admin_client: Client) -> None:
    """Its ``get_actions`` override takes Django 6.1's ``action_location`` (an override without it is
    deprecated there, and would fail this test), and still drops ``delete_selected``."""
    response = admin_client.get("/admin/intercom_identity/environment/")
    assert response.status_code == 200
    request = RequestFactory().get("/admin/intercom_identity/environment/")
    request.user = response.wsgi_request.user
    assert "delete_selected" not in site.get_model_admin(Environment).get_actions(request)
