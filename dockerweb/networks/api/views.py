from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from dockerweb.inventory import selectors as inventory
from dockerweb.inventory.api.serializers import NetworkSerializer
from dockerweb.inventory.api.views import HostMixin
from dockerweb.networks import services

from .serializers import NetworkCreateInput


class NetworkListCreate(HostMixin, generics.ListAPIView):
    """Networks of a host. Filters: driver, name (contains), label (key or key=value)."""

    serializer_class = NetworkSerializer

    def get_queryset(self):
        return inventory.network_list(host=self.get_host(), filters=self.request.query_params)

    @extend_schema(request=NetworkCreateInput, responses={201: NetworkSerializer})
    def post(self, request, host):
        data = NetworkCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        network = services.network_create(
            actor=request.user, host=self.get_host(), name=d["name"], driver=d["driver"], options=d["options"],
            ipam_config=(d.get("ipam") or {}).get("config") or None, internal=d["internal"],
            attachable=d["attachable"], enable_ipv6=d["enable_ipv6"], labels=d["labels"],
        )
        return Response(NetworkSerializer(network).data, status=status.HTTP_201_CREATED)


class NetworkDetail(HostMixin, APIView):
    @extend_schema(responses=NetworkSerializer)
    def get(self, request, host, ident):
        return Response(NetworkSerializer(inventory.network_get(host=self.get_host(), ident=ident)).data)

    def delete(self, request, host, ident):
        services.network_remove(actor=request.user, host=self.get_host(), ident=ident)
        return Response(status=status.HTTP_204_NO_CONTENT)
