"""Root URLs: each app brings its pages (`<app>/urls.py`) and its API (`<app>/api/urls.py`)."""
from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from dockerweb.core import views as core_views

api_patterns = [
    path("", include("dockerweb.core.api.urls")),
    path("", include("dockerweb.inventory.api.urls")),
    path("", include("dockerweb.networks.api.urls")),
    path("", include("dockerweb.containers.api.urls")),
    path("", include("dockerweb.volumes.api.urls")),
    path("", include("dockerweb.backups.api.urls")),
    path("", include("dockerweb.repositories.api.urls")),
    path("", include("dockerweb.topology.api.urls")),
    path("", include("dockerweb.audit.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script (CSP).
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="core/api_docs.html"),
         name="api-docs"),
]

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    # Browsers and tools ask for /favicon.ico on their own; the icon is a static file.
    path("favicon.ico", RedirectView.as_view(url=static("img/favicon.svg"), permanent=True)),
    path("api/", include(api_patterns)),
    path("admin/", admin.site.urls),
    path("", include("dockerweb.core.urls")),
    path("", include("dockerweb.inventory.urls")),
    path("", include("dockerweb.networks.urls")),
    path("", include("dockerweb.containers.urls")),
    path("", include("dockerweb.volumes.urls")),
    path("", include("dockerweb.backups.urls")),
    path("", include("dockerweb.repositories.urls")),
    path("", include("dockerweb.topology.urls")),
    path("", include("dockerweb.audit.urls")),
]

handler400 = "dockerweb.core.views.bad_request"
handler403 = "dockerweb.core.views.permission_denied"
handler404 = "dockerweb.core.views.page_not_found"
handler500 = "dockerweb.core.views.server_error"
