import signal
import threading

from django.core.management.base import BaseCommand

from dockerweb.inventory.watcher import watch_all


class Command(BaseCommand):
    help = "Follow every host's event stream and keep the mirror true (started by `make run`)."

    def handle(self, *args, **options):
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        self.stdout.write("watcher: following engine events")
        watch_all(stop)
