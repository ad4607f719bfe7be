from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from dockerweb.inventory import selectors as inventory
from dockerweb.inventory.api.serializers import VolumeSerializer
from dockerweb.inventory.api.views import HostMixin


class VolumeListCreate(HostMixin, generics.ListAPIView):
    """Volumes of a host. Filters: driver, name, label, dangling."""

    serializer_class = VolumeSerializer

    def get_queryset(self):
        return inventory.volume_list(host=self.get_host(), filters=self.request.query_params)


class VolumeDetail(HostMixin, APIView):
    @extend_schema(responses=VolumeSerializer)
    def get(self, request, host, name):
        return Response(VolumeSerializer(inventory.volume_get(host=self.get_host(), name=name)).data)
