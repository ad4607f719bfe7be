"""The repositories pages (server-rendered, Django's test client) against real restic and a real
volume of the sandbox engine: the list and its create form, a repository's page (snapshots,
filters, pages, change, removal), a snapshot's files, the volume page's snapshot form, the
snapshot job's page, and schedules into a repository."""
from __future__ import annotations

import html as html_text
import re

import pytest

from .conftest import PASSWORD, fill_volume, run_in, wait_job

pytestmark = pytest.mark.django_db(transaction=True)


def _client(make_user, role, username):
    from django.test import Client

    user = make_user(role, username)
    c = Client()
    assert c.login(username=user.username, password=user.test_password)
    return c


def _field_errors(html: str, field: str) -> list[str]:
    """The sentences shown at a form field (includes/field.html)."""
    m = re.search(r'<div class="field has-error" data-field="%s">(.*?)\n</div>' % field, html, re.S)
    return [html_text.unescape(e) for e in re.findall(r'<div class="field-error" role="alert">(.*?)</div>',
                                                       m.group(1))] if m else []


def _messages(html: str) -> list[str]:
    return [html_text.unescape(m) for m in re.findall(r'<li class="msg-\w+">(.*?)</li>', html)]


def test_admins_add_repositories_with_errors_on_their_fields_others_read(host, make_user, repo_dir):
    from dockerweb.repositories.models import Repository

    admin = _client(make_user, "admin", "page-repo-admin")
    html = admin.get("/repositories/").content.decode()
    assert 'id="repository-create"' in html and "No repository yet" in html
    assert '<a href="/repositories/" class="active" aria-current="page">Repositories</a>' in html

    # Bad input: each sentence at its field, nothing created.
    r = admin.post("/repositories/", {"name": "bad name!", "kind": "local", "location": "relative/path",
                                      "password": "short", "check_cron": "0 4 * * 0"})
    assert r.status_code == 400
    html = r.content.decode()
    assert _field_errors(html, "location") == [
        "A local repository is an absolute folder, such as " f"{repo_dir.parent / 'main'}."]
    assert _field_errors(html, "password")[0].startswith("The password has at least 8 characters")
    assert _field_errors(html, "name")[0].startswith("A name is 1 to 63 letters")
    assert 'data-form-errors="3"' in html and not Repository.objects.exists()
    # The SFTP fields are there for the script to show when the kind is sftp.
    assert html.count('data-shown-when="kind=sftp"') == 2
    r = admin.post("/repositories/", {"name": "outside", "kind": "local", "location": "/etc/dockerweb-repo",
                                      "password": PASSWORD})
    assert r.status_code == 400 and "Local repositories live inside" in _field_errors(r.content.decode(), "location")[0]

    # A good one: initialised by restic, and its page shown.
    r = admin.post("/repositories/", {"name": "pages-main", "kind": "local", "location": str(repo_dir / "main"),
                                      "password": PASSWORD, "check_cron": "0 4 * * 0",
                                      # a key typed while the kind was sftp is not sent for a local one
                                      "ssh_key": "left over", "known_host": ""})
    main = Repository.objects.get(name="pages-main")
    assert r.status_code == 302 and r["Location"] == f"/repositories/{main.pk}/"
    assert (repo_dir / "main" / "config").exists() and main.ssh_key_sealed == ""
    r = admin.post("/repositories/", {"name": "pages-copy", "kind": "local", "location": str(repo_dir / "copy"),
                                      "password": PASSWORD, "check_cron": ""})
    copy = Repository.objects.get(name="pages-copy")
    assert r.status_code == 302 and copy.check_cron == ""
    # The same folder again with a wrong password: refused at the password.
    r = admin.post("/repositories/", {"name": "again", "kind": "local", "location": str(repo_dir / "main"),
                                      "password": "not the password"})
    assert r.status_code == 400 and _field_errors(r.content.decode(), "password") == ["The repository's password is wrong."]

    # Change: a taken name is refused at the name; copy_to and the check schedule are saved.
    r = admin.post(f"/repositories/{main.pk}/", {"name": "pages-copy", "location": main.location,
                                                 "copy_to": "", "check_cron": "0 4 * * 0"})
    assert r.status_code == 400 and _field_errors(r.content.decode(), "name") == [
        "A repository named 'pages-copy' exists already."]
    r = admin.post(f"/repositories/{main.pk}/", {"name": "pages-main", "location": main.location,
                                                 "copy_to": copy.pk, "check_cron": "30 5 * * *"})
    assert r.status_code == 302
    main.refresh_from_db()
    assert main.copy_to_id == copy.pk and main.check_cron == "30 5 * * *"
    r = admin.post(f"/repositories/{main.pk}/", {"name": "pages-main", "location": str(repo_dir / "nothing-here"),
                                                 "copy_to": copy.pk, "check_cron": "30 5 * * *"})
    assert r.status_code == 409 and "There is no repository at" in _field_errors(r.content.decode(), "location")[0]
    main.refresh_from_db()
    assert main.location == str(repo_dir / "main")

    html = admin.get("/repositories/").content.decode()
    row = re.search(r'<tr data-repository="pages-main">(.*?)</tr>', html, re.S).group(1)
    assert "local folder" in row and str(repo_dir / "main") in row and f'href="/repositories/{copy.pk}/">pages-copy' in row
    assert '<span class="badge status-ok">ok</span>' in row and "never" in row and "At 05:30 AM" in row
    assert f'action="/repositories/{main.pk}/check/"' in row
    assert "Not checked on its own" in re.search(r'<tr data-repository="pages-copy">(.*?)</tr>', html, re.S).group(1)

    # Operators read the list and check; they add, change and remove nothing.
    op = _client(make_user, "operator", "page-repo-op")
    html = op.get("/repositories/").content.decode()
    assert 'id="repository-create"' not in html and "Only admins add or change repositories" in html
    assert f'action="/repositories/{main.pk}/check/"' in html
    r = op.post("/repositories/", {"name": "op-repo", "kind": "local", "location": str(repo_dir / "op"),
                                   "password": PASSWORD})
    assert r.status_code == 403 and not Repository.objects.filter(name="op-repo").exists()
    assert not (repo_dir / "op").exists()
    detail = op.get(f"/repositories/{main.pk}/").content.decode()
    assert 'id="repository-edit"' not in detail and 'id="repository-delete"' not in detail and "Check now" in detail
    assert op.post(f"/repositories/{main.pk}/", {"name": "renamed", "location": main.location}).status_code == 403
    r = op.post(f"/repositories/{main.pk}/delete/", follow=True)
    assert Repository.objects.filter(pk=main.pk).exists() and any("admin" in m for m in _messages(r.content.decode()))
    # Viewers do not even check.
    viewer = _client(make_user, "viewer", "page-repo-viewer")
    html = viewer.get("/repositories/").content.decode()
    assert "pages-main" in html and f'action="/repositories/{main.pk}/check/"' not in html
    r = viewer.post(f"/repositories/{main.pk}/check/", follow=True)
    assert any("operator" in m for m in _messages(r.content.decode()))

    # Removal: refused while a schedule makes snapshots into it; its data is never deleted.
    from dockerweb.backups.schedules import schedule_create

    sched = schedule_create(actor=make_user("admin", "page-repo-sched"), host=host, volume="v", cron="0 3 * * *",
                            keep_last=3, repository=main)
    r = admin.post(f"/repositories/{main.pk}/delete/", follow=True)
    assert any(f"Schedules {sched.pk} make snapshots" in m for m in _messages(r.content.decode()))
    assert Repository.objects.filter(pk=main.pk).exists()
    sched.delete()
    r = admin.post(f"/repositories/{main.pk}/delete/", follow=True)
    assert r.redirect_chain[-1][0] == "/repositories/" and not Repository.objects.filter(pk=main.pk).exists()
    assert (repo_dir / "main" / "config").exists()  # its data stays where it was
    assert admin.get("/repositories/999999/").status_code == 404


def test_an_sftp_repository_from_the_page_takes_its_key_and_pinned_host_key(host, make_user, sshd, tmp_path):
    import subprocess

    from dockerweb.repositories.models import Repository

    admin = _client(make_user, "admin", "page-sftp-admin")
    body = {"name": "page-sftp", "kind": "sftp", "location": sshd.location("page-sftp"), "password": PASSWORD,
            "check_cron": ""}
    r = admin.post("/repositories/", body)
    assert r.status_code == 400
    html = r.content.decode()
    assert _field_errors(html, "ssh_key") == ["An SFTP repository needs the private key that the server accepts."]
    assert _field_errors(html, "known_host")[0].startswith("An SFTP repository needs the server's host key")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "other")], check=True)
    other = (tmp_path / "other.pub").read_text()  # a real host key, not the server's
    r = admin.post("/repositories/", {**body, "ssh_key": sshd.client_key, "known_host": other})
    assert r.status_code == 409 and "not the pinned one" in _field_errors(r.content.decode(), "known_host")[0]
    assert not Repository.objects.exists()
    r = admin.post("/repositories/", {**body, "ssh_key": sshd.client_key, "known_host": sshd.host_key})
    repo = Repository.objects.get(name="page-sftp")
    assert r.status_code == 302 and repo.kind == "sftp" and repo.known_host == " ".join(sshd.host_key.split()[:2])
    html = admin.get(f"/repositories/{repo.pk}/").content.decode()
    assert 'name="ssh_key"' in html and 'name="known_host"' in html and sshd.client_key not in html
    assert "SFTP server repository" in html
    # Renamed without touching its secrets: nothing asks for the key again.
    r = admin.post(f"/repositories/{repo.pk}/", {"name": "page-sftp-2", "location": repo.location,
                                                 "known_host": repo.known_host, "ssh_key": "", "password": "",
                                                 "copy_to": "", "check_cron": ""})
    assert r.status_code == 302
    repo.refresh_from_db()
    assert repo.name == "page-sftp-2" and repo.target().ssh_key == sshd.client_key


def test_snapshots_from_the_volume_page_listed_paged_and_browsed(celery_worker_proc, host, engine, make_user, api_as,
                                                                  repo_dir, monkeypatch):
    from dockerweb.backups.models import Backup, Restore
    from dockerweb.core.templatetags.dockerweb import humansize
    from dockerweb.inventory.services import volume_sync
    from dockerweb.repositories import views
    from dockerweb.repositories.services import repository_create

    admin_user = make_user("admin", "page-snap-admin")
    repo = repository_create(actor=admin_user, name="page-snaps", kind="local", location=str(repo_dir / "snaps"),
                             password=PASSWORD)
    fill_volume(engine, "dw-page-snap", kib=64, small=5)
    volume_sync(host=host, name="dw-page-snap")
    op = _client(make_user, "operator", "page-snap-op")

    page = op.get("/volumes/dw-page-snap/?host=local").content.decode()
    assert 'data-testid="volume-snapshot-form"' in page and f'<option value="{repo.pk}">page-snaps</option>' in page
    r = op.post("/repositories/snapshot/", {"host": "local", "volume": "dw-page-snap", "repository": repo.pk,
                                            "consistency": "none", "next": "/volumes/dw-page-snap/?host=local"})
    job = Backup.objects.get(volume="dw-page-snap")
    assert r.status_code == 302 and r["Location"] == f"/backups/{job.pk}/"
    assert job.repository_id == repo.pk and job.created_by.username == "page-snap-op"
    done = wait_job(op, f"/api/backups/{job.pk}/")
    assert done["status"] == "succeeded", done["error"]
    job.refresh_from_db()

    # The job's page: the repository and the snapshot, none of an archive's things.
    html = op.get(f"/backups/{job.pk}/").content.decode()
    assert f'href="/repositories/{repo.pk}/">page-snaps</a>' in html and f"<code>{job.snapshot}</code>" in html
    assert f'href="/repositories/{repo.pk}/snapshots/{job.snapshot}/"' in html
    for absent in ("SHA-256", "Download", "Compression", 'data-testid="files-tab"', "Restore</button>", ">Delete"):
        assert absent not in html, absent
    r = op.get(f"/backups/{job.pk}/?tab=files")
    assert r.status_code == 302 and r["Location"] == f"/repositories/{repo.pk}/snapshots/{job.snapshot}/"
    listing = op.get("/backups/?host=local").content.decode()
    row = re.search(rf'<tr data-backup="{job.pk}">(.*?)</tr>', listing, re.S).group(1)
    assert '<span class="badge snapshot">snapshot</span>' in row and "page-snaps" in row and job.snapshot in row

    # Two more (one file changed between them), on pages of two.
    run_in(engine, "dw-page-snap", "echo changed > /v/file1.txt")
    for _ in range(2):
        r = op.post("/repositories/snapshot/", {"host": "local", "volume": "dw-page-snap", "repository": repo.pk,
                                                "consistency": "pause"})
        assert wait_job(op, f"/api/backups/{r['Location'].split('/')[2]}/")["status"] == "succeeded"
    made = list(Backup.objects.filter(repository=repo).order_by("-created").values_list("snapshot", flat=True))
    monkeypatch.setattr(views, "SNAPSHOTS_PER_PAGE", 2)
    first = op.get(f"/repositories/{repo.pk}/").content.decode()
    assert re.findall(r'<tr data-snapshot="(\w+)">', first) == made[:2]  # newest first
    assert "Page 1 of 2 · 3 in all" in first and 'data-testid="browse"' in first
    second = op.get(f"/repositories/{repo.pk}/?page=2").content.decode()
    assert re.findall(r'<tr data-snapshot="(\w+)">', second) == made[2:]
    row = re.search(rf'<tr data-snapshot="{made[2]}">(.*?)</tr>', second, re.S).group(1)
    assert "dw-page-snap" in row and "local" in row and f'href="/backups/{job.pk}/"' in row
    assert humansize(job.size) in row and f">{job.file_count}<" in row
    # Filters: by volume and host (the form offers what the repository holds).
    assert re.findall(r'<tr data-snapshot="(\w+)">', op.get(f"/repositories/{repo.pk}/?volume=dw-page-snap&host=local")
                      .content.decode()) == made[:2]
    none = op.get(f"/repositories/{repo.pk}/?volume=other").content.decode()
    assert "No snapshot matches these filters." in none and "data-snapshot=" not in none
    assert '<option value="dw-page-snap">dw-page-snap on local</option>' in first

    # Its files: the file list of archives.
    files = op.get(f"/repositories/{repo.pk}/snapshots/{made[0]}/").content.decode()
    assert 'data-entry="file1.txt" data-type="file"' in files and 'data-entry="sub" data-type="dir"' in files
    assert f'href="/repositories/{repo.pk}/snapshots/{made[0]}/?path=%2Fsub"' in files
    assert "Restore this path" in files and "Restore the whole snapshot…" in files  # an operator may restore
    # A path that is not in the snapshot: refused above the restore form (400), no job started.
    url = f"/repositories/{repo.pk}/snapshots/{made[0]}/?path=%2F&restore=%2Fnosuch"
    r = op.post(url, {"host": "local", "volume": "dw-page-snap", "overwrite": "on", "paths": "/nosuch"})
    assert r.status_code == 400 and f"Not in snapshot {made[0][:8]}: /nosuch." in r.content.decode()
    assert 'id="restore-form"' in r.content.decode() and not Restore.objects.exists()
    sub = op.get(f"/repositories/{repo.pk}/snapshots/{made[0]}/?path=/sub").content.decode()
    assert 'data-entry="secret.key"' in sub and "<code>0600</code>" in sub and "1234:5678" in sub
    assert 'data-entry="link-to-file1" data-type="symlink"' in sub and "→ ../file1.txt" in sub
    r = op.get(f"/repositories/{repo.pk}/snapshots/{made[0]}/?path=/nope")
    assert r.status_code == 404 and "The snapshot has no folder /nope." in r.content.decode()
    assert op.get(f"/repositories/{repo.pk}/snapshots/not-an-id/").status_code == 404

    # Viewers see the snapshots, not their files.
    viewer = _client(make_user, "viewer", "page-snap-viewer")
    html = viewer.get(f"/repositories/{repo.pk}/").content.decode()
    assert made[0] in html and 'data-testid="browse"' not in html
    html = viewer.get(f"/repositories/{repo.pk}/snapshots/{made[0]}/").content.decode()
    assert 'id="files-refused"' in html and "file1.txt" not in html
    assert 'data-testid="volume-snapshot-form"' not in viewer.get("/volumes/dw-page-snap/?host=local").content.decode()
    r = viewer.post("/repositories/snapshot/", {"host": "local", "volume": "dw-page-snap", "repository": repo.pk,
                                                "consistency": "none", "next": "/volumes/dw-page-snap/?host=local"},
                    follow=True)
    assert r.redirect_chain[-1][0] == "/volumes/dw-page-snap/?host=local"
    assert any("operator" in m for m in _messages(r.content.decode()))
    # A repository that is not there, and a volume that is not there: said, nothing started.
    r = op.post("/repositories/snapshot/", {"host": "local", "volume": "dw-page-snap", "repository": 999999,
                                            "consistency": "none"}, follow=True)
    assert "Choose one of the repositories." in _messages(r.content.decode())
    r = op.post("/repositories/snapshot/", {"host": "local", "volume": "dw-no-such-vol", "repository": repo.pk,
                                            "consistency": "none"}, follow=True)
    assert "Host 'local' has no volume 'dw-no-such-vol'." in _messages(r.content.decode())
    assert Backup.objects.filter(repository=repo).count() == 3

    # A repository that cannot be read: its page says so instead of failing.
    import shutil

    shutil.rmtree(repo_dir / "snaps")
    r = op.get(f"/repositories/{repo.pk}/")
    assert r.status_code == 409
    assert f"The repository could not be read: There is no repository at {repo_dir / 'snaps'}." in r.content.decode()


def test_schedules_take_a_repository_and_hourly_monthly_retention(host, make_user, repo_dir):
    from dockerweb.backups.models import Schedule
    from dockerweb.repositories.services import repository_create

    repo = repository_create(actor=make_user("admin", "sched-repo-maker"), name="sched-repo", kind="local",
                             location=str(repo_dir / "sched"), password=PASSWORD)
    admin = _client(make_user, "admin", "sched-repo-admin")
    html = admin.get("/schedules/").content.decode()
    assert f'<option value="{repo.pk}">sched-repo</option>' in html and 'name="keep_hourly"' in html
    assert 'name="keep_monthly"' in html and 'data-shown-when="repository="' in html
    base = {"host": "local", "volume": "sv", "label": "", "cron": "0 * * * *", "keep_last": 0, "keep_daily": 0,
            "keep_weekly": 0, "compression": "zstd", "consistency": "none", "enabled": "on"}
    r = admin.post("/schedules/", {**base, "repository": repo.pk, "keep_hourly": "", "keep_monthly": ""})
    assert r.status_code == 400 and "Keep at least one backup" in _field_errors(r.content.decode(), "keep_last")[0]
    r = admin.post("/schedules/", {**base, "repository": repo.pk, "keep_hourly": 24, "keep_monthly": -1})
    assert _field_errors(r.content.decode(), "keep_monthly") == ["Ensure this value is greater than or equal to 0."]
    r = admin.post("/schedules/", {**base, "repository": repo.pk, "keep_hourly": 24, "keep_monthly": 6})
    assert r.status_code == 302
    s = Schedule.objects.get(volume="sv")
    assert s.repository_id == repo.pk and (s.keep_hourly, s.keep_monthly) == (24, 6)
    html = admin.get("/schedules/").content.decode()
    row = re.search(rf'<tr data-schedule="{s.pk}">(.*?)</tr>', html, re.S).group(1)
    assert f'snapshots</span> into <a href="/repositories/{repo.pk}/">sched-repo</a>' in row
    assert "24 hourly, 6 monthly" in re.sub(r"\s+", " ", row)
    edit = admin.get(f"/schedules/{s.pk}/").content.decode()
    assert f'<option value="{repo.pk}" selected>sched-repo</option>' in edit and "Snapshots of this schedule" in edit
    # Back to archives.
    r = admin.post(f"/schedules/{s.pk}/", {**base, "repository": "", "keep_last": 5, "keep_hourly": 0,
                                           "keep_monthly": 6})
    assert r.status_code == 302
    s.refresh_from_db()
    assert s.repository is None and s.keep_last == 5 and s.keep_hourly == 0
    assert "archives, zstd" in admin.get("/schedules/").content.decode()
    assert f'href="/schedules/{s.pk}/"' not in admin.get(f"/repositories/{repo.pk}/").content.decode()
