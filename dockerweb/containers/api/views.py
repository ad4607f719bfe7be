from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from dockerweb.inventory import selectors as inventory
from dockerweb.inventory.api.serializers import ContainerSerializer
from dockerweb.inventory.api.views import HostMixin


class ContainerListCreate(HostMixin, generics.ListAPIView):
    """Containers of a host. Filters: state, name, image, network, label."""

    serializer_class = ContainerSerializer

    def get_queryset(self):
        return inventory.container_list(host=self.get_host(), filters=self.request.query_params)


class ContainerDetail(HostMixin, APIView):
    @extend_schema(responses=ContainerSerializer)
    def get(self, request, host, ident):
        return Response(ContainerSerializer(inventory.container_get(host=self.get_host(), ident=ident)).data)
