"""Create the two Intercom workspaces every project has, each with its three platforms (off)."""

from __future__ import annotations

from django.db import migrations

ENVIRONMENTS = [
    {"slug": "development", "label": "Development / test", "is_production": False},
    {"slug": "production", "label": "Production", "is_production": True},
]
PLATFORMS = ["ios", "android", "web"]


def create_environments(apps, schema_editor):
    Environment = apps.get_model("intercom_identity", "Environment")
    PlatformConfig = apps.get_model("intercom_identity", "PlatformConfig")
    for fields in ENVIRONMENTS:
        environment, _created = Environment.objects.get_or_create(slug=fields["slug"], defaults=fields)
        for platform in PLATFORMS:
            PlatformConfig.objects.get_or_create(environment=environment, platform=platform)


class Migration(migrations.Migration):
    dependencies = [("intercom_identity", "0001_initial")]

    operations = [migrations.RunPython(create_environments, migrations.RunPython.noop)]
