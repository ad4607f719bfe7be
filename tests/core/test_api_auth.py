"""Sign-in, tokens, anonymous refusal and clear 4xx answers for bad input."""
import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_anonymous_api_requests_are_refused(host):
    client = APIClient()
    for path in ["/api/hosts/", "/api/activity/", "/api/hosts/local/networks/"]:
        r = client.get(path)
        assert r.status_code in (401, 403), path
        assert r.json()["detail"] == "Authentication credentials were not provided."
    assert client.get("/api/schema/").status_code in (401, 403)
    r = client.post("/api/hosts/local/networks/", {"name": "x"}, format="json")
    assert r.status_code in (401, 403)


def test_anonymous_pages_redirect_to_login(client, host):
    for path in ["/", "/networks/", "/activity/", "/hosts/"]:
        r = client.get(path)
        assert r.status_code == 302 and r["Location"].startswith("/login/"), path
    assert client.get("/login/").status_code == 200


def test_healthz_is_public_and_reports_each_part(client, host):
    r = client.get("/healthz")
    body = r.json()
    assert body["database"] == "ok"
    assert body["broker"] == "ok"
    assert body["engines"] == {"local": "ok"}
    assert body["status"] == "ok" and r.status_code == 200


def test_token_is_accepted_by_hosts_api(make_user, host):
    user = make_user("viewer")
    client = APIClient()
    r = client.post("/api/auth/token/", {"username": user.username, "password": user.test_password}, format="json")
    assert r.status_code == 200
    token = r.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    r = client.get("/api/hosts/")
    assert r.status_code == 200
    assert [h["name"] for h in r.json()] == ["local"]
    assert r.json()[0]["status"] == "ok"


def test_wrong_password_is_a_clear_400(make_user):
    user = make_user("viewer")
    r = APIClient().post("/api/auth/token/", {"username": user.username, "password": "nope"}, format="json")
    assert r.status_code == 400
    assert r.json()["detail"] == "Wrong user name or password."


def test_missing_credentials_name_the_field(db):
    r = APIClient().post("/api/auth/token/", {"username": "someone"}, format="json")
    assert r.status_code == 400
    assert "password" in r.json()["errors"]


def test_malformed_json_is_a_clear_400(api_as, host):
    client = api_as("operator")
    r = client.generic("POST", "/api/hosts/local/networks/", '{"name": "x",', content_type="application/json")
    assert r.status_code == 400
    assert r.json()["detail"].startswith("The request body could not be read: JSON parse error")


def test_unknown_host_is_404_with_the_known_names(api_as, host):
    r = api_as("viewer").get("/api/hosts/nosuchhost/networks/")
    assert r.status_code == 404
    assert r.json()["detail"] == "There is no host named 'nosuchhost' (known hosts: local)."


def test_unknown_network_is_404(api_as, host):
    r = api_as("viewer").get("/api/hosts/local/networks/does-not-exist/")
    assert r.status_code == 404
    assert "has no network 'does-not-exist'" in r.json()["detail"]


def test_unknown_page_is_a_404_page_not_a_trace(client, make_user):
    user = make_user("viewer")
    client.force_login(user)
    r = client.get("/no/such/page/")
    assert r.status_code == 404
    assert b"There is nothing at this address." in r.content
    assert b"Traceback" not in r.content


def test_user_without_role_can_read_nothing(make_user):
    user = make_user("none")
    client = APIClient()
    client.force_authenticate(user)
    assert client.get("/api/hosts/").status_code == 403
