"""WSGI entry point (gunicorn famhp.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "famhp.settings")
application = get_wsgi_application()
