from django.conf import settings
from django.core.management.base import BaseCommand

from dockerweb.core.services import ensure_admin


class Command(BaseCommand):
    help = "Make sure the first admin exists (DOCKERWEB_ADMIN_USER / DOCKERWEB_ADMIN_PASSWORD)."

    def handle(self, *args, **options):
        user, generated = ensure_admin(username=settings.ADMIN_USER, password=settings.ADMIN_PASSWORD)
        if generated:
            self.stdout.write(self.style.WARNING(
                f"Created admin {user.username!r} with password: {generated}\n"
                "This is shown once; change it on the Users page or set DOCKERWEB_ADMIN_PASSWORD."))
        else:
            self.stdout.write(f"Admin {user.username!r} is ready.")
