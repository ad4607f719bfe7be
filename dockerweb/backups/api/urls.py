from django.urls import path

from dockerweb.core.api import converters  # noqa: F401  (registers <id:…>)

from . import views

urlpatterns = [
    path("hosts/<str:host>/volumes/<str:name>/backups/", views.VolumeBackups.as_view(), name="api-volume-backups"),
    path("backups/", views.BackupList.as_view(), name="api-backups"),
    path("backups/import/", views.BackupImport.as_view(), name="api-backup-import"),
    path("backups/<id:pk>/", views.BackupDetail.as_view(), name="api-backup"),
    path("backups/<id:pk>/cancel/", views.BackupCancel.as_view(), name="api-backup-cancel"),
    path("backups/<id:pk>/download/", views.BackupDownload.as_view(), name="api-backup-download"),
    path("backups/<id:pk>/restore/", views.BackupRestore.as_view(), name="api-backup-restore"),
    path("backups/<id:pk>/files/", views.BackupFiles.as_view(), name="api-backup-files"),
    path("restores/", views.RestoreList.as_view(), name="api-restores"),
    path("restores/<id:pk>/", views.RestoreDetail.as_view(), name="api-restore"),
    path("restores/<id:pk>/cancel/", views.RestoreCancel.as_view(), name="api-restore-cancel"),
    path("schedules/", views.ScheduleList.as_view(), name="api-schedules"),
    path("schedules/preview/", views.CronPreview.as_view(), name="api-schedule-preview"),
    path("schedules/<id:pk>/", views.ScheduleDetail.as_view(), name="api-schedule"),
]
