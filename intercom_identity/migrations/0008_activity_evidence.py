"""Evidence that a version sends, and who introduced each version (issue 14).

``VersionTally.credential_users`` counts, per latest-activity tally, the users handed the
credential on that version; it is filled here from ``ClientActivity.sent_credential`` (which
until now said whether the user's latest request got one: the closest evidence there is).
``AppVersion.first_reported_by`` bounds how many new versions one user adds per day.
"""

from datetime import timezone as dt_timezone

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import Count
from django.db.models.functions import TruncDate


def fill_credential_users(apps, schema_editor):
    ClientActivity = apps.get_model("intercom_identity", "ClientActivity")
    VersionTally = apps.get_model("intercom_identity", "VersionTally")
    db = schema_editor.connection.alias
    groups = (
        ClientActivity.objects.using(db)
        .filter(sent_credential=True)
        .values_list("environment_id", "platform", TruncDate("last_seen_at", tzinfo=dt_timezone.utc), "version")
        .annotate(users=Count("*"))
        .order_by()
    )
    for environment_id, platform, day, version, users in groups.iterator():
        VersionTally.objects.using(db).filter(
            environment_id=environment_id, platform=platform, kind="latest", day=day, version=version
        ).update(credential_users=users)


class Migration(migrations.Migration):
    dependencies = [
        ("intercom_identity", "0007_verbose_names"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="appversion",
            name="first_reported_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="versiontally",
            name="credential_users",
            field=models.IntegerField(default=0),
        ),
        migrations.AlterField(
            model_name="clientactivity",
            name="sent_credential",
            field=models.BooleanField(
                default=False,
                help_text="Whether the user was handed a credential on this version (since moving to it).",
            ),
        ),
        migrations.RunPython(fill_credential_users, migrations.RunPython.noop, elidable=True),
    ]
