from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def graph(request):
    return render(request, "pending.html", {"title": "Topology"})
