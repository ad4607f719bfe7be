"""Pages of the repositories app: the repositories (add, check), a repository's page (its
snapshots, change, forget), a snapshot's files, and the snapshot of a volume started from the
volume's page."""
from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_POST

from dockerweb.backups import services as backups
from dockerweb.backups.schedules import cron_describe
from dockerweb.core.errors import AppError
from dockerweb.core.pages import next_url, paginate, refusal
from dockerweb.core.permissions import may
from dockerweb.inventory import selectors as inventory
from dockerweb.volumes import files

from . import selectors, services
from .forms import RepositoryEditForm, RepositoryForm, SnapshotFilterForm, SnapshotStartForm

SNAPSHOTS_PER_PAGE = 50


def _volume_href(host: str, volume: str, hosts: set) -> str:
    """The page of a volume of a registered host ("" when there is none, or the name is no volume's:
    a snapshot made elsewhere may carry any tag)."""
    if not volume or host not in hosts:
        return ""
    try:
        return reverse("volumes:detail", args=[volume]) + "?" + urlencode({"host": host})
    except NoReverseMatch:
        return ""


def _described(repo):
    repo.check_description = cron_describe(repo.check_cron) if repo.check_cron else ""
    return repo


@login_required
def repository_list(request):
    form = RepositoryForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        with refusal(request, form) as refused:
            repo = services.repository_create(actor=request.user, **form.service_data())
            messages.success(request, f"Repository {repo.name} is ready: take a snapshot of a volume from the "
                                      "volume's page, or let a schedule make them.")
            return redirect("repositories:detail", pk=repo.pk)
        status = refused.status
    elif request.method == "POST":
        status = 400
    return render(request, "repositories/list.html", {
        "repositories": [_described(r) for r in selectors.repository_list()], "form": form,
        "can_create": may(request.user, "repository.create"), "can_check": may(request.user, "repository.check"),
    }, status=status)


@login_required
def repository_detail(request, pk: int):
    """A repository and its snapshots (the repository's own list, newest first, by host and
    volume); admins change or forget it here."""
    repo = _described(selectors.repository_get(pk=pk))
    form = RepositoryEditForm(request.POST or None, repository=repo)
    status = 200
    if request.method == "POST" and form.is_valid():
        with refusal(request, form) as refused:
            services.repository_update(actor=request.user, repository=repo, **form.service_data())
            messages.success(request, f"Repository {repo.name} saved.")
            return redirect("repositories:detail", pk=repo.pk)
        status = refused.status
        repo = _described(selectors.repository_get(pk=pk))  # as saved, not as the refused form had it
    elif request.method == "POST":
        status = 400
    filters = SnapshotFilterForm(request.GET)
    f = filters.cleaned_data if filters.is_valid() else {"host": "", "volume": ""}
    ctx = {"repo": repo, "form": form, "filters": f, "volumes": selectors.repository_volumes(repo),
           "can_edit": may(request.user, "repository.update"), "can_delete": may(request.user, "repository.delete"),
           "can_check": may(request.user, "repository.check"), "copies_from": list(repo.copies_from.all()),
           "schedules": list(repo.schedules.select_related("host"))}
    ctx["filter_hosts"] = sorted({h for h, _ in ctx["volumes"]} | ({f["host"]} if f["host"] else set()))
    try:
        snaps = services.snapshots_list(repository=repo, host=f["host"], volume=f["volume"])
    except AppError as exc:
        snaps = []
        ctx["snapshots_error"] = exc.message
        status = status if status != 200 else exc.status
    page = paginate(request, snaps, SNAPSHOTS_PER_PAGE)
    jobs = selectors.snapshot_jobs(repo, (s["short_id"] for s in page))
    ctx["page"] = page
    hosts = {h.name for h in inventory.host_list()}
    ctx["rows"] = [{**s, "when": selectors.snapshot_time(s), "job": jobs.get(s["short_id"]),
                    "volume_href": _volume_href(s["host"], s["volume"], hosts),
                    "browsable": selectors.snapshot_files_visible(user=request.user, job=jobs.get(s["short_id"]))}
                   for s in page]
    return render(request, "repositories/detail.html", ctx, status=status)


@login_required
@require_POST
def repository_check(request, pk: int):
    with refusal(request):
        repo = services.repository_check_start(actor=request.user, repository=selectors.repository_get(pk=pk))
        messages.success(request, f"Check of {repo.name} started: its result shows under “Last check” when it "
                                  "has ended (reload the page).")
    return redirect(next_url(request) or reverse("repositories:detail", args=[pk]))


@login_required
@require_POST
def repository_delete(request, pk: int):
    with refusal(request):
        repo = selectors.repository_get(pk=pk)
        services.repository_delete(actor=request.user, repository=repo)
        messages.success(request, f"Repository {repo.name} removed from dockerweb; its snapshots stay at {repo.location}.")
        return redirect("repositories:list")
    return redirect("repositories:detail", pk=pk)


@login_required
def snapshot_files(request, pk: int, snap: str):
    """A folder (`?path=`) of a snapshot: the file list of archives and volumes."""
    repo = selectors.repository_get(pk=pk)
    status = 200
    job = services.snapshot_job(repository=repo, snapshot=snap)  # 404 page for what is no snapshot id
    ctx = {"repo": repo, "snap": snap, "job": job,
           "can_browse": selectors.snapshot_files_visible(user=request.user, job=job)}
    here = reverse("repositories:snapshot", args=[repo.pk, snap])
    ctx["folder_href"] = here + "?path="
    if ctx["can_browse"]:
        try:
            listing = services.snapshot_files_list(actor=request.user, repository=repo, snapshot=snap,
                                                   path=request.GET.get("path") or "/")
            ctx.update({"listing": listing, "rows": files.listing_rows(listing),
                        "crumbs": files.crumbs(listing["path"])})
        except AppError as exc:
            ctx.update({"files_error": exc.message, "crumbs": files.crumbs("/")})
            status = exc.status
    return render(request, "repositories/files.html", ctx, status=status)


@login_required
@require_POST
def snapshot_start(request):
    """The volume page's "Snapshot into a repository": start the job and show its page."""
    form = SnapshotStartForm(request.POST)
    host_name, volume = request.POST.get("host", ""), request.POST.get("volume", "")
    back = next_url(request) or _volume_href(host_name, volume, {host_name}) or reverse("repositories:list")
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect(back)
    d = form.cleaned_data
    with refusal(request):
        host = inventory.host_get(name=d["host"])
        job = backups.backup_start(actor=request.user, host=host, volume=d["volume"], consistency=d["consistency"],
                                   repository=d["repository"])
        return redirect("backups:detail", pk=job.pk)
    return redirect(back)

