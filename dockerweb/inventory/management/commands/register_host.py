from django.core.management.base import BaseCommand

from dockerweb.inventory.services import host_check, host_register


class Command(BaseCommand):
    help = "Register (or re-point) a host by name and URL: `register_host local unix:///var/run/docker.sock`."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("url")

    def handle(self, name, url, **options):
        host = host_register(name=name, url=url)
        ok = host_check(host=host)
        self.stdout.write(f"host {name!r} → {url} ({'engine ok' if ok else 'engine unreachable: ' + host.last_error})")
