"""Admins manage users and their roles from dockerweb's own page; forms are CSRF-protected."""
import pytest
from django.test import Client

from dockerweb.core.models import Activity
from dockerweb.core.permissions import user_role

pytestmark = pytest.mark.django_db


def test_admin_creates_a_user_with_a_role_and_changes_it(client, make_user, django_user_model):
    admin = make_user("admin")
    client.force_login(admin)
    r = client.post("/users/", {"username": "newop", "password": "long-enough-1", "role": "operator"})
    assert r.status_code == 302
    user = django_user_model.objects.get(username="newop")
    assert user_role(user).label == "operator" and user.check_password("long-enough-1")
    r = client.post(f"/users/{user.pk}/", {"role": "viewer", "is_active": "on", "password": ""})
    assert r.status_code == 302
    user = django_user_model.objects.get(username="newop")
    assert user_role(user).label == "viewer"
    actions = list(Activity.objects.filter(username=admin.username).values_list("action", "outcome", "target"))
    assert sorted(actions) == [("user.create", "ok", "newop"), ("user.update", "ok", "newop")]


def test_duplicate_user_name_is_a_field_error(client, make_user):
    admin = make_user("admin")
    client.force_login(admin)
    r = client.post("/users/", {"username": admin.username, "password": "long-enough-1", "role": "viewer"})
    assert r.status_code == 200
    assert r.context["form"].errors["username"] == [f"A user named {admin.username!r} already exists."]


def test_admin_cannot_demote_themselves(client, make_user):
    admin = make_user("admin")
    client.force_login(admin)
    r = client.post(f"/users/{admin.pk}/", {"role": "viewer", "is_active": "on"})
    assert r.status_code == 409
    assert "cannot remove your own admin role" in r.content.decode()
    assert user_role(admin).label == "admin"


def test_operator_cannot_manage_users(client, make_user, django_user_model):
    client.force_login(make_user("operator"))
    assert client.get("/users/").status_code == 403
    r = client.post("/users/", {"username": "sneaky", "password": "long-enough-1", "role": "admin"})
    assert r.status_code == 403
    assert not django_user_model.objects.filter(username="sneaky").exists()


def test_forms_need_a_csrf_token(make_user, django_user_model):
    admin = make_user("admin")
    c = Client(enforce_csrf_checks=True)
    c.force_login(admin)
    r = c.post("/users/", {"username": "nocsrf", "password": "long-enough-1", "role": "viewer"})
    assert r.status_code == 403
    assert not django_user_model.objects.filter(username="nocsrf").exists()


def test_session_cookie_is_not_readable_by_scripts(client, make_user):
    user = make_user("viewer")
    r = client.post("/login/", {"username": user.username, "password": user.test_password})
    assert r.status_code == 302
    cookie = r.cookies["sessionid"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
