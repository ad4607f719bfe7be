import os

from django.core.management.base import BaseCommand

from dockerweb.core.services import ensure_admin


class Command(BaseCommand):
    help = "Make sure the first admin exists (DOCKERWEB_ADMIN_USER / DOCKERWEB_ADMIN_PASSWORD)."

    def handle(self, *args, **options):
        username = os.environ.get("DOCKERWEB_ADMIN_USER") or "admin"
        password = os.environ.get("DOCKERWEB_ADMIN_PASSWORD") or None
        user, generated = ensure_admin(username=username, password=password)
        if generated:
            self.stdout.write(self.style.WARNING(
                f"Created admin {user.username!r} with password: {generated}\n"
                "This is shown once; change it on the Users page or set DOCKERWEB_ADMIN_PASSWORD."))
        else:
            self.stdout.write(f"Admin {user.username!r} is ready.")
