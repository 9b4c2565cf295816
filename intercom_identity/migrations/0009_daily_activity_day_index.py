"""The (day, id) index the retention prune walks (issue 14).

On PostgreSQL it is built ``CONCURRENTLY``: the daily activity table of a busy site is large,
and a plain ``CREATE INDEX`` would block recording for as long as the build takes. Hence
this migration is not atomic, and holds nothing else.
"""

from django.db import migrations, models

INDEX = models.Index(fields=["day", "id"], name="intercom_identity_daily_day")


def create_index(apps, schema_editor):
    model = apps.get_model("intercom_identity", "DailyActivity")
    if schema_editor.connection.vendor == "postgresql":
        table = schema_editor.quote_name(model._meta.db_table)
        name = schema_editor.quote_name(INDEX.name)
        schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {table} (day, id)")
    else:
        schema_editor.add_index(model, INDEX)


def drop_index(apps, schema_editor):
    model = apps.get_model("intercom_identity", "DailyActivity")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(INDEX.name)}")
    else:
        schema_editor.remove_index(model, INDEX)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("intercom_identity", "0008_activity_evidence")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="dailyactivity", index=INDEX)],
            database_operations=[migrations.RunPython(create_index, drop_index)],
        ),
    ]
