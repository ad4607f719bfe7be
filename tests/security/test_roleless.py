"""Door 4: an account without a role (how an admin revokes access) saw every page's data.

The attack: sign in with a role-less account and open every page, the API, the API docs and
schema, the live websocket and Django's admin. The proof: 403 everywhere with the no-role page
(or the API's refusal), no data of the engine on any answer, the socket refused — while the same
requests as a viewer do get the data, so the checks below can fail."""
from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from dockerweb.core.context_processors import NAV
from tests.security.wsclient import handshake, session_cookie

NO_ROLE = "this account has no role yet"
ASK_ADMIN = "An admin must give you one"


def pages(host, engine) -> list[str]:
    """Every page of the navigation, the Users page, and detail pages that show engine data."""
    from dockerweb.inventory.services import host_reconcile

    volume = engine.volumes.create("dw-roleless-vol")
    host_reconcile(host=host)
    return [
        "/", *(reverse(name) for _, name in NAV), reverse("core:users"), reverse("core:settings"),
        "/networks/bridge/", f"/volumes/{volume.name}/", "/networks/new/", "/containers/run/",
        "/volumes/prune/", "/nosuch/",
    ]


@pytest.mark.django_db
def test_roleless_account_gets_403_and_the_no_role_page_on_every_page(host, engine, make_user):
    urls = pages(host, engine)
    viewer, nobody = Client(), Client()
    viewer.force_login(make_user("viewer"))
    nobody.force_login(make_user("none", "nobody"))

    # The same pages as a viewer show the engine's data (the bridge network, the volume).
    assert "dw-roleless-vol" in viewer.get("/volumes/").content.decode()
    assert "bridge" in viewer.get("/networks/").content.decode()

    for url in urls:
        r = nobody.get(url, follow=False)
        body = r.content.decode()
        assert r.status_code == 403, url
        assert NO_ROLE in body and ASK_ADMIN in body, url
        assert "dw-roleless-vol" not in body and "bridge" not in body, url
        assert 'action="/logout/"' in body and "Sign out" in body, url
        assert 'class="mainnav"' in body and "/networks/" not in body, url  # no navigation to pages it cannot see
    # Writes are refused before any view runs.
    r = nobody.post("/volumes/new/", {"name": "dw-roleless-made"})
    assert r.status_code == 403
    assert "dw-roleless-made" not in [v.name for v in engine.volumes.list()]
    # Signing out still works, and signing in is still reachable.
    assert nobody.get("/login/").status_code in (200, 302)
    r = nobody.post("/logout/")
    assert r.status_code == 302 and r["Location"] == reverse(settings.LOGOUT_REDIRECT_URL)
    assert nobody.get("/networks/")["Location"].startswith("/login/")


@pytest.mark.django_db
def test_roleless_account_is_refused_by_the_api_its_docs_and_schema(host, make_user):
    user = make_user("none", "nobody")
    by_token = APIClient()
    by_token.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    by_session = APIClient()
    by_session.force_login(user)
    viewer = APIClient()
    viewer.force_login(make_user("viewer"))
    paths = ["/api/hosts/", "/api/hosts/local/networks/", "/api/hosts/local/volumes/", "/api/activity/",
             "/api/hosts/local/topology/", "/api/schema/", "/api/docs/", "/api/docs/?script="]
    for path in paths:
        assert viewer.get(path).status_code == 200, path
        for client in (by_token, by_session):
            r = client.get(path)
            assert r.status_code == 403, (path, r.status_code)
            assert "bridge" not in r.content.decode() and "openapi" not in r.content.decode(), path
    r = by_token.get("/api/hosts/")
    assert r.json()["detail"] == "You need to sign in with an account that has a role (viewer, operator or admin)."


@pytest.mark.django_db
def test_django_admin_is_no_side_door(make_user, host):
    """Django admin edits accounts and the mirror behind the services' role checks; the staff
    flag alone must not open it — only the admin role does."""
    nobody = make_user("none", "nobody")
    operator = make_user("operator", "op")
    for user in (nobody, operator):
        user.is_staff = True
        user.save()
    for user, sentence in ((nobody, NO_ROLE), (operator, "Django admin is for admins only.")):
        c = Client()
        c.force_login(user)
        for path in ("/admin/", "/admin/auth/user/", "/admin/inventory/host/", "/admin/auth/user/add/"):
            r = c.get(path)
            assert r.status_code == 403, (user.username, path)
            assert sentence in r.content.decode(), path
        r = c.post("/admin/auth/user/add/", {"username": "made-by-side-door", "password1": "x" * 12,
                                             "password2": "x" * 12})
        assert r.status_code == 403
    from django.contrib.auth import get_user_model

    assert not get_user_model().objects.filter(username="made-by-side-door").exists()
    # An admin still has Django's admin (and anonymous visitors get its own login page).
    admin = make_user("admin", "boss")
    admin.is_staff = True
    admin.save()
    c = Client()
    c.force_login(admin)
    assert c.get("/admin/").status_code == 200
    r = Client().get("/admin/")
    assert r.status_code == 302 and r["Location"].startswith("/admin/login/")


@pytest.mark.django_db(transaction=True)
def test_roleless_account_cannot_open_the_live_websocket(asgi_server, host, make_user):
    """Against the real daphne, with the account's real session cookie and the site's own origin."""
    viewer = handshake(asgi_server, origin=asgi_server, cookie=session_cookie(make_user("viewer", "watcher")))
    assert viewer["type"] == "subscribed" and viewer["hosts"] == ["local"]  # the socket is live for a viewer
    nobody = handshake(asgi_server, origin=asgi_server, cookie=session_cookie(make_user("none", "nobody")))
    assert nobody == 403


@pytest.mark.django_db
def test_revoking_a_superusers_role_takes_its_access_away(host, engine, make_user, django_user_model):
    """The first admin is a superuser: a superuser counted as admin whatever its groups, so an
    admin who set its role to "none" on the Users page changed nothing."""
    first = django_user_model.objects.create_superuser("first-admin", password="pw-for-tests-1")
    admin = Client()
    admin.force_login(make_user("admin", "second-admin"))
    r = admin.post(reverse("core:user-edit", args=[first.pk]), {"role": "none", "is_active": "on"})
    assert r.status_code == 302, r.content.decode()[:500]
    first.refresh_from_db()
    assert not first.is_superuser and not first.is_staff
    revoked = Client()
    revoked.force_login(first)
    r = revoked.get("/networks/")
    assert r.status_code == 403 and NO_ROLE in r.content.decode()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=first).key}")
    assert api.get("/api/hosts/local/networks/").status_code == 403
