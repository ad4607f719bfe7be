from django.urls import path

from . import views

app_name = "audit"

urlpatterns = [
    path("audit/", views.index, name="index"),
    path("audit/compare/", views.compare, name="compare"),
    path("audit/<int:pk>/", views.detail, name="detail"),
    path("audit/<int:pk>/print/", views.printable, name="print"),
    path("audit/<int:pk>/export.json", views.export_json, name="export"),
]
