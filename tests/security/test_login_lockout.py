"""Door 9: no sign-in throttling — 20 wrong passwords in a row, then the right one worked.

The attack: guess passwords through the login page and through POST /api/auth/token/ against a
real daphne. The proof: from the limit on, that account is refused from that address on both
doors, the right password included, with a sentence saying for how long; an admin sees the lock
on the Users page and lifts it, and the right password works again. The lock belongs to the pair
(account, address): the same account elsewhere and other accounts here are not locked, and
legitimate sign-ins never add up to a lockout."""
from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from datetime import timedelta

import pytest
import requests
from django.conf import settings
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from dockerweb.core.models import Activity
from tests.support.browser import login

LIMIT = settings.LOGIN_FAILURE_LIMIT
LOCKED = re.compile(r"Too many failed sign-ins for this account from your address; try again in (\d+) minutes? "
                    r"or ask an admin to lift the lock\.")
WRONG = "Please enter a correct username and password"


class Browserless:
    """A person at the login page over real HTTP: fetches the form (CSRF cookie) and posts it."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.session = requests.Session()

    def sign_in(self, username: str, password: str) -> requests.Response:
        self.session.get(self.base_url + "/login/", timeout=10)
        return self.session.post(self.base_url + "/login/", timeout=10, allow_redirects=False, data={
            "username": username, "password": password, "next": "",
            "csrfmiddlewaretoken": self.session.cookies["csrftoken"]})

    def token(self, username: str, password: str) -> requests.Response:
        return requests.post(self.base_url + "/api/auth/token/", json={"username": username, "password": password},
                             timeout=10)


@pytest.mark.django_db(transaction=True)
def test_twenty_wrong_passwords_on_the_login_page_lock_both_doors_until_an_admin_lifts_it(asgi_server, make_user, page):
    victim = make_user("operator", "victim")
    admin = make_user("admin", "boss")
    person = Browserless(asgi_server)

    answers = [person.sign_in(victim.username, f"guess-{i}") for i in range(20)]
    # Before the limit: the usual "wrong password"; from the limit on: locked, with the minutes.
    assert all(r.status_code == 200 and WRONG in r.text for r in answers[:LIMIT - 1])
    for r in answers[LIMIT - 1:]:
        assert r.status_code == 403 and LOCKED.search(r.text), r.text[:300]
    assert LOCKED.search(answers[-1].text).group(1) == str(settings.LOGIN_COOLOFF_MINUTES)

    # The right password is refused too, on the login page and by the token API.
    r = person.sign_in(victim.username, victim.test_password)
    assert r.status_code == 403 and LOCKED.search(r.text)
    assert settings.SESSION_COOKIE_NAME not in person.session.cookies
    r = person.token(victim.username, victim.test_password)
    assert r.status_code == 403
    assert r.json()["code"] == "locked_out" and LOCKED.fullmatch(r.json()["detail"])
    assert "token" not in r.json()

    # An admin (another account, same address: not locked) sees the lock and lifts it.
    login(page, asgi_server, admin)
    page.goto(asgi_server + "/users/")
    row = page.locator("#lockouts tr", has_text=victim.username)
    assert "127.0.0.1" in row.inner_text() and str(LIMIT) in row.inner_text()
    row.get_by_role("button", name="Lift lock").click()
    page.wait_for_url(asgi_server + "/users/")
    assert "Lifted the sign-in lock of victim from 127.0.0.1." in page.inner_text(".messages")
    assert "No account is locked out." in page.inner_text("#lockouts")

    r = person.sign_in(victim.username, victim.test_password)
    assert r.status_code == 302 and r.headers["Location"] == "/"
    assert person.token(victim.username, victim.test_password).status_code == 200
    assert Activity.objects.filter(username=admin.username, action="user.unlock", outcome="ok",
                                   target="victim from 127.0.0.1").exists()


@pytest.mark.django_db(transaction=True)
def test_twenty_wrong_passwords_on_the_token_api_lock_both_doors(asgi_server, make_user):
    victim = make_user("operator", "scripted-victim")
    person = Browserless(asgi_server)
    answers = [person.token(victim.username, f"guess-{i}") for i in range(20)]
    assert all(r.status_code == 400 and r.json()["code"] == "authentication_failed" for r in answers[:LIMIT - 1])
    assert all(r.status_code == 403 and r.json()["code"] == "locked_out" for r in answers[LIMIT - 1:])
    assert person.token(victim.username, victim.test_password).status_code == 403
    r = person.sign_in(victim.username, victim.test_password)
    assert r.status_code == 403 and LOCKED.search(r.text)

    # Lifted through the Users page's form (an admin's session and CSRF token, over HTTP).
    admin = make_user("admin", "boss")
    person.sign_in(admin.username, admin.test_password)
    users = person.session.get(asgi_server + "/users/", timeout=10)
    assert victim.username in users.text
    r = person.session.post(asgi_server + "/users/unlock/", allow_redirects=False, timeout=10, data={
        "username": victim.username, "ip_address": "127.0.0.1",
        "csrfmiddlewaretoken": person.session.cookies["csrftoken"]})
    assert r.status_code == 302
    assert person.token(victim.username, victim.test_password).status_code == 200


@pytest.mark.django_db
def test_the_lock_belongs_to_the_account_and_the_address(make_user):
    victim, bystander = make_user("viewer", "victim"), make_user("viewer", "bystander")
    here = APIClient()
    for i in range(LIMIT):
        here.post("/api/auth/token/", {"username": victim.username, "password": f"guess-{i}"}, format="json")
    assert here.post("/api/auth/token/", {"username": victim.username, "password": victim.test_password},
                     format="json").status_code == 403
    # Typing wrong passwords for a colleague's name does not lock them out elsewhere...
    elsewhere = APIClient(REMOTE_ADDR="198.51.100.7")
    assert elsewhere.post("/api/auth/token/", {"username": victim.username, "password": victim.test_password},
                          format="json").status_code == 200
    assert Client(REMOTE_ADDR="198.51.100.7").post(
        "/login/", {"username": victim.username, "password": victim.test_password}).status_code == 302
    # ...nor other accounts from here.
    assert here.post("/api/auth/token/", {"username": bystander.username, "password": bystander.test_password},
                     format="json").status_code == 200


@pytest.mark.django_db
def test_legitimate_use_never_adds_up_to_a_lockout(make_user):
    user = make_user("viewer", "typist")
    # Typos followed by the right password, again and again: a success forgets the failures.
    for _ in range(2):
        c = Client()
        for i in range(LIMIT - 1):
            assert c.post("/login/", {"username": user.username, "password": f"typo-{i}"}).status_code == 200
        assert c.post("/login/", {"username": user.username, "password": user.test_password}).status_code == 302
    # Right passwords, more often than the limit (scripts, browser tests), never count.
    for i in range(LIMIT + 1):
        if i % 2:
            assert Client().post("/login/", {"username": user.username, "password": user.test_password}).status_code == 302
        else:
            assert APIClient().post("/api/auth/token/", {"username": user.username, "password": user.test_password},
                                    format="json").status_code == 200


@pytest.mark.django_db
def test_the_lock_ends_after_the_cool_off(make_user):
    from axes.models import AccessAttempt

    user = make_user("viewer", "patient")
    c = Client()
    for i in range(LIMIT):
        c.post("/login/", {"username": user.username, "password": f"guess-{i}"})
    r = c.post("/login/", {"username": user.username, "password": user.test_password})
    assert r.status_code == 403 and LOCKED.search(r.content.decode())
    # Time passes (the cool-off is minutes long; the failures are moved back instead of waiting).
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=settings.LOGIN_COOLOFF_MINUTES, seconds=1))
    assert c.post("/login/", {"username": user.username, "password": user.test_password}).status_code == 302


@pytest.mark.django_db
def test_only_admins_lift_locks(make_user):
    victim = make_user("viewer", "victim")
    for i in range(LIMIT):
        Client().post("/login/", {"username": victim.username, "password": f"guess-{i}"})
    operator = Client()
    operator.force_login(make_user("operator", "op"))
    r = operator.post("/users/unlock/", {"username": victim.username, "password": "", "ip_address": "127.0.0.1"})
    assert r.status_code == 403
    assert Activity.objects.filter(username="op", action="user.unlock", outcome="refused").exists()
    assert Client().post("/login/", {"username": victim.username, "password": victim.test_password}).status_code == 403
    # Lifting a lock that does not exist is a clear 404, not a silent success.
    admin = Client()
    admin.force_login(make_user("admin", "boss"))
    r = admin.post("/users/unlock/", {"username": "nobody-locked", "ip_address": "127.0.0.1"})
    assert r.status_code == 404 and "'nobody-locked' is not locked out from 127.0.0.1." in html.unescape(r.content.decode())


@pytest.mark.django_db
def test_the_schema_documents_the_lockout(api_as):
    schema = api_as("viewer").get("/api/schema/?format=json").json()
    answer = schema["paths"]["/api/auth/token/"]["post"]["responses"]["403"]
    assert "locked_out" in answer["description"]
    assert answer["content"]["application/json"]["schema"]["$ref"].endswith("/Error")


def test_limit_and_cool_off_come_from_the_environment():
    env = {**os.environ, "DOCKERWEB_LOGIN_FAILURE_LIMIT": "2", "DOCKERWEB_LOGIN_COOLOFF_MINUTES": "3",
           "DJANGO_SETTINGS_MODULE": "dockerweb.settings"}
    out = subprocess.run([sys.executable, "-c", "import django; django.setup(); from django.conf import settings as s; "
                          "print(s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME.total_seconds(), s.AXES_LOCKOUT_PARAMETERS)"],
                         env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "2 180.0 [['username', 'ip_address']]"
