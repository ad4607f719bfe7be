"""Backups API: one view per action; each validates, calls one service, and renders the result."""
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from dockerweb.backups import schedules, selectors, services
from dockerweb.backups.uploads import upload_refused
from dockerweb.core.api.params import query_params
from dockerweb.core.api.schema import errors
from dockerweb.core.errors import NotFound, TooLarge
from dockerweb.inventory.selectors import host_get, volume_get
from dockerweb.volumes.api.serializers import FilesListingSerializer, FilesParams

from .serializers import (BackupFilters, BackupInput, BackupSerializer, CronPreviewParams, CronPreviewSerializer,
                          ImportInput, RestoreFilters, RestoreInput, RestoreSerializer, ScheduleInput,
                          ScheduleSerializer)

# An archive's media type, by its compression.
ARCHIVE_TYPES = {"zstd": "application/zstd", "fast": "application/zstd", "gzip": "application/gzip",
                 "none": "application/x-tar"}


class VolumeBackups(APIView):
    """GET: the backups of this volume, which must exist (those of a removed volume are listed by
    `GET /api/backups/?host=…&volume=…`). POST: start a backup of it (202 and the job)."""

    @extend_schema(responses=BackupSerializer(many=True))
    def get(self, request, host, name):
        h = host_get(name=host)
        volume_get(host=h, name=name)
        return Response(BackupSerializer(selectors.backup_list(filters={"host": h.name, "volume": name}), many=True).data)

    @extend_schema(request=BackupInput, responses={202: BackupSerializer})
    def post(self, request, host, name):
        data = BackupInput(data=request.data)
        data.is_valid(raise_exception=True)
        backup = services.backup_start(actor=request.user, host=host_get(name=host), volume=name, **data.validated_data)
        return Response(BackupSerializer(backup).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(get=extend_schema(parameters=[BackupFilters]))
class BackupList(generics.ListAPIView):
    """Every backup, newest first. Filters: host, volume, status, origin."""

    serializer_class = BackupSerializer

    def get_queryset(self):
        return selectors.backup_list(filters=query_params(BackupFilters, self.request))


class BackupDetail(APIView):
    @extend_schema(responses=BackupSerializer)
    def get(self, request, pk):
        return Response(BackupSerializer(selectors.backup_get(pk=pk)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        services.backup_delete(actor=request.user, backup=selectors.backup_get(pk=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class BackupCancel(APIView):
    @extend_schema(request=None, responses=BackupSerializer)
    def post(self, request, pk):
        return Response(BackupSerializer(services.backup_cancel(actor=request.user, backup=selectors.backup_get(pk=pk))).data)


class BackupDownload(APIView):
    """The archive file, streamed. An archive holds a volume's data (keys, databases): only those
    who may make backups (operators and admins) may take one away."""

    @extend_schema(responses={(200, media_type): OpenApiTypes.BINARY for media_type in ARCHIVE_TYPES.values()})
    def get(self, request, pk):
        backup = selectors.backup_get(pk=pk)
        path = services.backup_download(actor=request.user, backup=backup)
        response = FileResponse(open(path, "rb"), as_attachment=True, filename=path.name,
                                content_type=ARCHIVE_TYPES.get(backup.compression, "application/x-tar"))
        response["X-Checksum-SHA256"] = backup.sha256
        return response


class BackupImport(APIView):
    """Upload a tar (plain, gzip or zstd), such as one made by `tar cvf backup.tar /dbdata`: 202
    and the import job, which a worker runs (read, hashed, its manifest written)."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": ImportInput}, responses={202: BackupSerializer, **errors(413)})
    def post(self, request):
        data = ImportInput(data=request.data)  # reading the body streams the upload to the store
        refused = upload_refused(request)
        if refused:
            raise TooLarge(refused, field="file")
        data.is_valid(raise_exception=True)
        v = data.validated_data
        host = host_get(name=v["host"]) if v.get("host") else None
        backup = services.backup_import(actor=request.user, upload=v["file"], volume=v.get("volume", ""),
                                        strip_components=v["strip_components"], host=host)
        return Response(BackupSerializer(backup).data, status=status.HTTP_202_ACCEPTED)


class BackupRestore(APIView):
    @extend_schema(request=RestoreInput, responses={202: RestoreSerializer})
    def post(self, request, pk):
        backup = selectors.backup_get(pk=pk)
        data = RestoreInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        host_name = v.get("host") or backup.host_name
        if not host_name:
            raise NotFound("Name the host to restore into.", field="host")
        restore = services.restore_start(actor=request.user, backup=backup, host=host_get(name=host_name),
                                         volume=v.get("volume") or backup.volume, create=v["create"],
                                         overwrite=v["overwrite"], strip_components=v.get("strip_components"),
                                         paths=v.get("paths") or None)
        return Response(RestoreSerializer(restore).data, status=status.HTTP_202_ACCEPTED)


class BackupFiles(APIView):
    """The entries of one folder of the archive, from its manifest, paths as a restore with the
    backup's strip_components writes them (the same shape as a volume's files). Browsing needs
    what downloading needs: the operator role and every door the volume had."""

    @extend_schema(parameters=[FilesParams], responses={200: FilesListingSerializer, **errors(409)})
    def get(self, request, pk):
        p = query_params(FilesParams, request)
        listing = services.backup_files_list(actor=request.user, backup=selectors.backup_get(pk=pk), path=p["path"])
        return Response(FilesListingSerializer(listing).data)


@extend_schema_view(get=extend_schema(parameters=[RestoreFilters]))
class RestoreList(generics.ListAPIView):
    """Every restore, newest first. Filters: backup, host."""

    serializer_class = RestoreSerializer

    def get_queryset(self):
        return selectors.restore_list(filters=query_params(RestoreFilters, self.request))


class RestoreDetail(APIView):
    @extend_schema(responses=RestoreSerializer)
    def get(self, request, pk):
        return Response(RestoreSerializer(selectors.restore_get(pk=pk)).data)


class RestoreCancel(APIView):
    @extend_schema(request=None, responses=RestoreSerializer)
    def post(self, request, pk):
        r = services.restore_cancel(actor=request.user, restore=selectors.restore_get(pk=pk))
        return Response(RestoreSerializer(r).data)


class ScheduleList(APIView):
    @extend_schema(responses=ScheduleSerializer(many=True))
    def get(self, request):
        return Response(ScheduleSerializer(selectors.schedule_list(), many=True).data)

    @extend_schema(request=ScheduleInput, responses={201: ScheduleSerializer})
    def post(self, request):
        data = ScheduleInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        host = host_get(name=v.pop("host", "") or "local")
        s = schedules.schedule_create(actor=request.user, host=host, **v)
        return Response(ScheduleSerializer(s).data, status=status.HTTP_201_CREATED)


class ScheduleDetail(APIView):
    @extend_schema(responses=ScheduleSerializer)
    def get(self, request, pk):
        return Response(ScheduleSerializer(selectors.schedule_get(pk=pk)).data)

    @extend_schema(request=ScheduleInput, responses=ScheduleSerializer)
    def patch(self, request, pk):
        s = selectors.schedule_get(pk=pk)
        data = ScheduleInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        v.pop("host", None)
        return Response(ScheduleSerializer(schedules.schedule_update(actor=request.user, schedule=s, **v)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        schedules.schedule_delete(actor=request.user, schedule=selectors.schedule_get(pk=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class CronPreview(APIView):
    """`?cron=0 3 * * *` → {description, next_runs}: the readable preview of a cron expression."""

    @extend_schema(parameters=[CronPreviewParams], responses=CronPreviewSerializer)
    def get(self, request):
        p = query_params(CronPreviewParams, request)
        runs = schedules.cron_next_runs(p["cron"], count=p["count"])
        return Response({"cron": p["cron"], "description": schedules.cron_describe(p["cron"]), "next_runs": runs})
