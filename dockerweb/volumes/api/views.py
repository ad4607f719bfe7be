from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from dockerweb.core.api.params import query_params
from dockerweb.core.api.schema import errors
from dockerweb.inventory import selectors as inventory
from dockerweb.inventory.api.serializers import VolumeFilters, VolumeSerializer
from dockerweb.inventory.api.views import HostMixin
from dockerweb.volumes import selectors, services

from .serializers import VolumeCreateInput, VolumeGetParams, VolumePruneInput, VolumePruneResult, VolumeRemoveParams


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


class VolumePrune(HostMixin, APIView):
    """Remove every volume no container uses; `{dry_run: true}` lists them without removing."""

    @extend_schema(request=VolumePruneInput, responses=VolumePruneResult)
    def post(self, request, host):
        data = VolumePruneInput(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(services.volume_prune(actor=request.user, host=self.get_host(),
                                              dry_run=data.validated_data["dry_run"]))
