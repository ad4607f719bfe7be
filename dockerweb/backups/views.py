"""Pages of the backups app: the backups list (start, import), a backup's job page (progress,
restore, cancel, delete), a restore's job page, and schedules."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from dockerweb.core.errors import AppError
from dockerweb.core.pages import next_url, paginate, refusal
from dockerweb.inventory import selectors as inventory
from dockerweb.inventory.models import Host, Volume
from dockerweb.volumes import files

from . import schedules, selectors, services
from .forms import BackupStartForm, ImportForm, RestoreForm, ScheduleForm
from .uploads import upload_refused


@login_required
def backup_list(request):
    host = inventory.host_current(request)
    # The volumes to offer: not restores' staging volumes (dockerweb's own, by their label).
    volumes = list(inventory.without_internal(Volume.objects.filter(host=host), inventory.INTERNAL_VOLUME_LABELS)
                   .values_list("name", flat=True)) if host else []
    start_form = BackupStartForm(initial={"host": host.name if host else ""}, volumes=volumes)
    import_form = ImportForm()
    status = 200
    action = request.POST.get("action") if request.method == "POST" else None  # streams an upload to the store
    refused = upload_refused(request)
    if refused:
        import_form = ImportForm()
        import_form.add_error("file", refused)
        status = 413
    elif action == "import":
        import_form = ImportForm(request.POST, request.FILES)
        if import_form.is_valid():
            with refusal(request, import_form) as refused:
                b = services.backup_import(actor=request.user, upload=import_form.cleaned_data["file"],
                                           volume=import_form.cleaned_data["volume"],
                                           strip_components=import_form.cleaned_data["strip_components"])
                messages.success(request, f"Upload received as import {b.pk}; it is being read and checked.")
                return redirect("backups:detail", pk=b.pk)
            status = refused.status
    filters = {k: request.GET.get(k) for k in ("volume", "status", "origin") if request.GET.get(k)}
    page = paginate(request, selectors.backup_list(filters=filters), 50)
    return render(request, "backups/list.html", {
        "host": host, "hosts_all": inventory.host_list(), "page": page, "start_form": start_form,
        "import_form": import_form, "restores": selectors.restore_list()[:10],
    }, status=status)


@login_required
@require_POST
def backup_start(request):
    host_name = request.POST.get("host", "")
    with refusal(request):
        host = inventory.host_get(name=host_name)
        form = BackupStartForm(request.POST)
        if not form.is_valid():
            messages.error(request, "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
            return redirect("backups:list")
        backup = services.backup_start(actor=request.user, host=host, volume=form.cleaned_data["volume"],
                                       compression=form.cleaned_data["compression"],
                                       consistency=form.cleaned_data["consistency"])
        return redirect("backups:detail", pk=backup.pk)
    return redirect(next_url(request) or "backups:list")


@login_required
def backup_detail(request, pk: int):
    """A backup's page. `?tab=files` lists its archive (`&path=` a folder) and, with
    `&restore=<path>`, offers to restore that path alone (the form posts `paths`)."""
    backup = selectors.backup_get(pk=pk)
    is_snapshot = backup.format == "restic"  # a snapshot into a repository: no archive, no manifest
    hosts = [h.name for h in Host.objects.all()]
    files_tab = request.GET.get("tab") == "files"
    if is_snapshot and files_tab:  # its files are the snapshot's, on the repository's pages
        if backup.repository_id and backup.snapshot:
            return redirect("repositories:snapshot", pk=backup.repository_id, snap=backup.snapshot)
        return redirect("backups:detail", pk=backup.pk)
    restore_path = request.POST.get("paths") if request.method == "POST" else request.GET.get("restore")
    initial = {"host": backup.host_name or (hosts[0] if hosts else ""), "volume": f"{backup.volume}-restored",
               "create": True, "strip_components": backup.strip_components}
    if restore_path:  # one path back where it came from, by default
        initial["volume"] = backup.volume
    form = RestoreForm(request.POST or None, hosts=hosts, initial=initial)
    status = 200
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        with refusal(request, form) as refused:
            r = services.restore_start(actor=request.user, backup=backup, host=inventory.host_get(name=d["host"]),
                                       volume=d["volume"], create=d["create"], overwrite=d["overwrite"],
                                       strip_components=d["strip_components"],
                                       paths=request.POST.getlist("paths") or None)
            return redirect("backups:restore", pk=r.pk)
        status = refused.status
    ctx = {"backup": backup, "is_snapshot": is_snapshot, "form": form, "restores": backup.restores.all()[:20],
           "can_browse": selectors.backup_files_visible(user=request.user, backup=backup),
           "tab": "files" if files_tab else "overview"}
    if not files_tab:
        ctx["manifest"] = services.manifest_entries(backup, limit=50) if ctx["can_browse"] and not is_snapshot else []
        return render(request, "backups/detail.html", ctx, status=status)
    ctx["restore_path"] = restore_path
    if ctx["can_browse"]:
        try:
            listing = services.backup_files_list(actor=request.user, backup=backup, path=request.GET.get("path") or "/")
            ctx.update({"listing": listing, "rows": files.listing_rows(listing), "crumbs": files.crumbs(listing["path"])})
        except AppError as exc:
            ctx.update({"files_error": exc.message, "crumbs": files.crumbs("/")})
            status = status if status != 200 else exc.status
    return render(request, "backups/files.html", ctx, status=status)


@login_required
@require_POST
def backup_cancel(request, pk: int):
    with refusal(request):
        services.backup_cancel(actor=request.user, backup=selectors.backup_get(pk=pk))
        messages.success(request, "Cancel requested.")
    return redirect("backups:detail", pk=pk)


@login_required
@require_POST
def backup_delete(request, pk: int):
    with refusal(request):
        services.backup_delete(actor=request.user, backup=selectors.backup_get(pk=pk))
        messages.success(request, f"Backup {pk} deleted.")
        return redirect("backups:list")
    return redirect("backups:detail", pk=pk)


@login_required
def restore_detail(request, pk: int):
    restore = selectors.restore_get(pk=pk)
    if request.method == "POST":
        with refusal(request):
            services.restore_cancel(actor=request.user, restore=restore)
            messages.success(request, "Cancel requested.")
        return redirect("backups:restore", pk=pk)
    return render(request, "backups/restore.html", {"restore": restore})


@login_required
def schedule_list(request):
    hosts = [h.name for h in Host.objects.all()]
    form = ScheduleForm(request.POST or None, hosts=hosts)
    status = 200
    if request.method == "POST" and form.is_valid():
        d = dict(form.cleaned_data)
        with refusal(request, form) as refused:
            host = inventory.host_get(name=d.pop("host"))
            schedules.schedule_create(actor=request.user, host=host, **d)
            messages.success(request, "Schedule created.")
            return redirect("backups:schedules")
        status = refused.status
    elif request.method == "POST":
        status = 400  # the form's own errors, on their fields
    rows = []
    for s in selectors.schedule_list():
        rows.append({"s": s, "next_run": schedules.schedule_next_run(s), "description": schedules.cron_describe(s.cron),
                     "failures": list(selectors.schedule_recent_failures(s, 3)),
                     "count": s.backups.filter(status="succeeded").count()})
    return render(request, "backups/schedules.html", {"rows": rows, "form": form}, status=status)


@login_required
def schedule_edit(request, pk: int):
    s = selectors.schedule_get(pk=pk)
    hosts = [h.name for h in Host.objects.all()]
    initial = {f: getattr(s, f) for f in schedules.FIELDS}
    initial["host"] = s.host.name
    form = ScheduleForm(request.POST or None, hosts=hosts, initial=initial)
    form.fields["host"].disabled = True
    status = 200
    if request.method == "POST":
        with refusal(request, form) as refused:
            if request.POST.get("action") == "delete":
                schedules.schedule_delete(actor=request.user, schedule=s)
                messages.success(request, "Schedule deleted.")
                return redirect("backups:schedules")
            if form.is_valid():
                d = dict(form.cleaned_data)
                d.pop("host", None)
                schedules.schedule_update(actor=request.user, schedule=s, **d)
                messages.success(request, "Schedule saved.")
                return redirect("backups:schedules")
        status = refused.status if refused.status != 200 else 400  # refused, or the form's own errors
    return render(request, "backups/schedule_edit.html", {
        "s": s, "form": form, "description": schedules.cron_describe(s.cron),
        "next_runs": schedules.cron_next_runs(s.cron, count=5) if s.cron else [],
        "backups": s.backups.all()[:30]}, status=status)
