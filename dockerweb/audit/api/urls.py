from django.urls import path

from dockerweb.core.api import converters  # noqa: F401  (registers <id:…>)

from . import views

urlpatterns = [
    path("hosts/<str:host>/audit/", views.AuditLive.as_view(), name="api-audit"),
    path("hosts/<str:host>/audit/probe/", views.AuditProbe.as_view(), name="api-audit-probe"),
    path("hosts/<str:host>/audits/", views.AuditList.as_view(), name="api-audits"),
    path("hosts/<str:host>/audits/compare/", views.AuditCompare.as_view(), name="api-audits-compare"),
    path("hosts/<str:host>/audits/<id:pk>/", views.AuditDetail.as_view(), name="api-audit-detail"),
]
