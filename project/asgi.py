"""The demo under an ASGI server (``uvicorn project.asgi:application``): the async JSON views
(``project.urls_asgi``) and, on PostgreSQL, Django's psycopg connection pool (docs/asgi.md)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
os.environ.setdefault("DEMO_SERVER", "asgi")  # read by project.settings
application = get_asgi_application()
