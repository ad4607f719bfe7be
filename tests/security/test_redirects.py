"""A form's `next` never sends the browser to another site (an open redirect lends the site's
name to a phishing link). Every page view that follows `next` goes through `core.pages.next_url`."""
from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("evil", ["https://evil.example/", "//evil.example/x", "https:/\\evil.example"])
def test_a_refused_backup_start_does_not_follow_a_foreign_next(make_user, evil):
    user = make_user("operator")
    client = Client()
    assert client.login(username=user.username, password=user.test_password)
    # No such host: the start is refused, and the page goes back to where `next` says — if it is ours.
    r = client.post("/backups/start/", {"host": "nosuch", "volume": "v", "next": evil})
    assert r.status_code == 302
    assert "evil.example" not in r["Location"] and r["Location"] == "/backups/"
    r = client.post("/backups/start/", {"host": "nosuch", "volume": "v", "next": "/volumes/?host=local"})
    assert r["Location"] == "/volumes/?host=local"
