from django.http import HttpResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from dockerweb.core.api.params import query_params
from dockerweb.core.api.schema import errors
from dockerweb.inventory import selectors as inventory
from dockerweb.inventory.api.serializers import VolumeFilters, VolumeSerializer
from dockerweb.inventory.api.views import HostMixin
from dockerweb.volumes import files, selectors, services

from .serializers import (FileContentParams, FilesListingSerializer, FilesParams, VolumeCreateInput, VolumeGetParams,
                          VolumePruneInput, VolumePruneResult, VolumeRemoveManyInput, VolumeRemoveManyOutput,
                          VolumeRemoveParams)


class VolumeListCreate(HostMixin, generics.ListAPIView):
    """Volumes of a host. Filters: driver, name, label, dangling; `?sizes=1` asks the engine for sizes."""

    serializer_class = VolumeSerializer
    filters: dict = {}  # the validated query of the request being answered (set in `get`)

    def get_queryset(self):
        return inventory.volume_list(host=self.get_host(), filters=self.filters, as_lists=True)

    @extend_schema(parameters=[VolumeFilters], responses={200: VolumeSerializer(many=True), **errors(503)})
    def get(self, request, *args, **kwargs):
        self.filters = query_params(VolumeFilters, request)
        rows = self.filter_queryset(self.get_queryset())
        if self.filters["sizes"]:
            rows = selectors.with_sizes(self.get_host(), rows)
        page = self.paginate_queryset(rows)
        if page is not None:
            return self.get_paginated_response(self.get_serializer(page, many=True).data)
        return Response(self.get_serializer(rows, many=True).data)

    @extend_schema(request=VolumeCreateInput, responses={201: VolumeSerializer})
    def post(self, request, host):
        data = VolumeCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        volume = services.volume_create(actor=request.user, host=self.get_host(), **data.validated_data)
        return Response(VolumeSerializer(volume).data, status=status.HTTP_201_CREATED)


class VolumeDetail(HostMixin, APIView):
    @extend_schema(parameters=[VolumeGetParams], responses={200: VolumeSerializer, **errors(503)})
    def get(self, request, host, name):
        p = query_params(VolumeGetParams, request)
        volume = inventory.volume_get(host=self.get_host(), name=name)
        if p["sizes"]:
            volume = selectors.with_sizes(self.get_host(), [volume])[0]
        return Response(VolumeSerializer(volume).data)

    @extend_schema(parameters=[VolumeRemoveParams], responses={204: None})
    def delete(self, request, host, name):
        p = query_params(VolumeRemoveParams, request)
        services.volume_remove(actor=request.user, host=self.get_host(), name=name, force=p["force"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class VolumeRemoveMany(HostMixin, APIView):
    """`docker volume rm A B …`: each one removed (or refused, as in use) on its own."""

    @extend_schema(request=VolumeRemoveManyInput, responses=VolumeRemoveManyOutput)
    def post(self, request, host):
        data = VolumeRemoveManyInput(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(services.volume_remove_many(actor=request.user, host=self.get_host(),
                                                    names=data.validated_data["volumes"]))

    @extend_schema(parameters=[VolumeGetParams], responses={200: VolumeSerializer, **errors(503)},
                   summary='The volume named "remove" (as GET …/volumes/{name}/).')
    def get(self, request, host):  # a volume named "remove", by name
        return VolumeDetail.get(self, request, host, "remove")

    @extend_schema(parameters=[VolumeRemoveParams], responses={204: None},
                   summary='Remove the volume named "remove" (as DELETE …/volumes/{name}/).')
    def delete(self, request, host):  # a volume named "remove", by name
        return VolumeDetail.delete(self, request, host, "remove")


class VolumePrune(HostMixin, APIView):
    """Remove every volume no container uses; `{dry_run: true}` lists them without removing."""

    @extend_schema(request=VolumePruneInput, responses=VolumePruneResult)
    def post(self, request, host):
        data = VolumePruneInput(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(services.volume_prune(actor=request.user, host=self.get_host(),
                                              dry_run=data.validated_data["dry_run"]))


def streamed(download: files.Download) -> StreamingHttpResponse:
    """A download as a streamed attachment (see `volumes.files`: constant memory under ASGI)."""
    response = StreamingHttpResponse(download.chunks, content_type=download.content_type)
    response["Content-Disposition"] = content_disposition_header(True, download.filename)
    if download.size is not None:
        response["Content-Length"] = str(download.size)
    return response


class VolumeFiles(HostMixin, APIView):
    """The entries of one folder of the volume: name, type, size, mode, owner, mtime and a link's
    target (links are shown, never followed). Operators; admins for a volume that reaches the
    host (its bind options, or a privileged, host-namespace or bind-holding container mounting it)."""

    @extend_schema(parameters=[FilesParams], responses={200: FilesListingSerializer, **errors(409, 503)})
    def get(self, request, host, name):
        p = query_params(FilesParams, request)
        listing = files.volume_files_list(actor=request.user, host=self.get_host(), name=name, path=p["path"])
        return Response(FilesListingSerializer(listing).data)


class VolumeFileContent(HostMixin, APIView):
    """The bytes of one regular file: to show (text/plain when it is UTF-8 text, else
    application/octet-stream; up to DOCKERWEB_FILES_VIEW_MAX_BYTES, 413 beyond), or with
    `download=true` the whole file as an attachment. Every read is in the activity log."""

    @extend_schema(parameters=[FileContentParams],
                   responses={(200, "text/plain"): OpenApiTypes.STR, (200, "application/octet-stream"): OpenApiTypes.BINARY,
                              **errors(409, 413, 503)})
    def get(self, request, host, name):
        p = query_params(FileContentParams, request)
        if p["download"]:
            return streamed(files.volume_file_download(actor=request.user, host=self.get_host(), name=name,
                                                       path=p["path"]))
        view = files.volume_file_view(actor=request.user, host=self.get_host(), name=name, path=p["path"])
        response = HttpResponse(view.data, content_type=view.content_type)
        response["Content-Disposition"] = content_disposition_header(False, view.name)
        return response


class VolumeFilesArchive(HostMixin, APIView):
    """A folder of the volume as a tar, streamed (members named after the folder; the root after
    the volume); links stored as links. In the activity log."""

    @extend_schema(parameters=[FilesParams], responses={(200, "application/x-tar"): OpenApiTypes.BINARY,
                                                        **errors(409, 503)})
    def get(self, request, host, name):
        p = query_params(FilesParams, request)
        return streamed(files.volume_folder_archive(actor=request.user, host=self.get_host(), name=name,
                                                    path=p["path"]))
