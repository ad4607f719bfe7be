from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def backup_list(request):
    return render(request, "pending.html", {"title": "Backups"})


@login_required
def schedule_list(request):
    return render(request, "pending.html", {"title": "Schedules"})
