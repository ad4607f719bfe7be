"""Repositories API: one view per action; each validates, calls one service, renders the result."""
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from dockerweb.backups import services as backups
from dockerweb.backups.api.serializers import BackupSerializer, RestoreSerializer
from dockerweb.core.api.params import query_params
from dockerweb.inventory.selectors import host_get
from dockerweb.volumes.api.serializers import FilesListingSerializer, FilesParams
from dockerweb.repositories import selectors, services

from .serializers import (RepositoryInput, RepositorySerializer, SnapshotFilters, SnapshotInput,
                          SnapshotRestoreInput, SnapshotSerializer)


class RepositoryList(APIView):
    @extend_schema(responses=RepositorySerializer(many=True))
    def get(self, request):
        return Response(RepositorySerializer(selectors.repository_list(), many=True).data)

    @extend_schema(request=RepositoryInput, responses={201: RepositorySerializer})
    def post(self, request):
        data = RepositoryInput(data=request.data)
        data.is_valid(raise_exception=True)
        repo = services.repository_create(actor=request.user, **data.validated_data)
        return Response(RepositorySerializer(repo).data, status=status.HTTP_201_CREATED)


class RepositoryDetail(APIView):
    @extend_schema(responses=RepositorySerializer)
    def get(self, request, pk):
        return Response(RepositorySerializer(selectors.repository_get(pk=pk)).data)

    @extend_schema(request=RepositoryInput, responses=RepositorySerializer)
    def patch(self, request, pk):
        repo = selectors.repository_get(pk=pk)
        data = RepositoryInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        return Response(RepositorySerializer(
            services.repository_update(actor=request.user, repository=repo, **data.validated_data)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        services.repository_delete(actor=request.user, repository=selectors.repository_get(pk=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RepositoryCheck(APIView):
    """POST: run `restic check` now (in a worker); the result shows in `last_check`."""

    @extend_schema(request=None, responses={202: RepositorySerializer})
    def post(self, request, pk):
        repo = services.repository_check_start(actor=request.user, repository=selectors.repository_get(pk=pk))
        return Response(RepositorySerializer(repo).data, status=status.HTTP_202_ACCEPTED)


class RepositorySnapshots(APIView):
    """The snapshots the repository holds (its own list, newest first), by host and volume."""

    @extend_schema(parameters=[SnapshotFilters], responses=SnapshotSerializer(many=True))
    def get(self, request, pk):
        f = query_params(SnapshotFilters, request)
        snaps = services.snapshots_list(repository=selectors.repository_get(pk=pk), host=f["host"], volume=f["volume"])
        return Response(SnapshotSerializer(snaps, many=True).data)


class VolumeSnapshots(APIView):
    """POST: snapshot this volume into a repository (202 and the job, a backup job with
    `repository` set; `snapshot` names the snapshot once it has succeeded)."""

    @extend_schema(request=SnapshotInput, responses={202: BackupSerializer})
    def post(self, request, host, name):
        data = SnapshotInput(data=request.data)
        data.is_valid(raise_exception=True)
        job = backups.backup_start(actor=request.user, host=host_get(name=host), volume=name, **data.validated_data)
        return Response(BackupSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class SnapshotFiles(APIView):
    """A folder of a snapshot: the file-list shape of volumes and archives."""

    @extend_schema(parameters=[FilesParams], responses=FilesListingSerializer)
    def get(self, request, pk, snap):
        p = query_params(FilesParams, request)
        return Response(services.snapshot_files_list(actor=request.user, repository=selectors.repository_get(pk=pk),
                                                     snapshot=snap, path=p["path"]))


class SnapshotArchive(APIView):
    """The whole snapshot as a plain tar (`restic dump`), streamed, in the shape of dockerweb's
    archives (`data/` with the volume root's owner and mode, the files under it): `POST
    /api/backups/import/` with `strip_components` 1 takes it back. Taking it away is taking the
    volume: operators, with every door the volume had."""

    http_method_names = ["get", "options"]  # a HEAD would start a dump (and log a download)

    @extend_schema(responses={(200, "application/x-tar"): OpenApiTypes.BINARY})
    def get(self, request, pk, snap):
        name, dump = services.snapshot_export(actor=request.user, repository=selectors.repository_get(pk=pk),
                                              snapshot=snap)
        response = StreamingHttpResponse(dump, content_type="application/x-tar")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


class SnapshotRestore(APIView):
    """POST: restore the snapshot (whole, or `paths`) into a volume: 202 and the restore job
    (`GET /api/restores/{id}/`), staged and all-or-nothing like an archive's restore."""

    @extend_schema(request=SnapshotRestoreInput, responses={202: RestoreSerializer})
    def post(self, request, pk, snap):
        repo = selectors.repository_get(pk=pk)
        data = SnapshotRestoreInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        restore = backups.snapshot_restore_start(actor=request.user, repository=repo, snapshot=snap,
                                                 host=host_get(name=v["host"]), volume=v["volume"],
                                                 create=v["create"], overwrite=v["overwrite"],
                                                 paths=v.get("paths") or None)
        return Response(RestoreSerializer(restore).data, status=status.HTTP_202_ACCEPTED)
