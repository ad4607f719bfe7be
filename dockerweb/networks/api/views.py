"""The networks API: one view per action; each validates its input, calls one service and
returns the network or container as the engine now reports it."""
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from dockerweb.core.api.params import query_params
from dockerweb.inventory import selectors as inventory
from dockerweb.inventory import services as inventory_services
from dockerweb.inventory.api.serializers import ContainerSerializer, NetworkFilters, NetworkSerializer
from dockerweb.inventory.api.views import HostMixin
from dockerweb.networks import services

from .serializers import (NetworkConnectInput, NetworkCreateInput, NetworkDisconnectInput, NetworkPruneInput,
                          NetworkPruneOutput, NetworkRemoveManyInput, NetworkRemoveManyOutput)


@extend_schema_view(get=extend_schema(parameters=[NetworkFilters]))
class NetworkListCreate(HostMixin, generics.ListAPIView):
    """Networks of a host. Filters: driver, name (contains), label (key or key=value)."""

    serializer_class = NetworkSerializer

    def get_queryset(self):
        return inventory.network_list(host=self.get_host(), filters=query_params(NetworkFilters, self.request),
                                     as_lists=True)

    @extend_schema(request=NetworkCreateInput, responses={201: NetworkSerializer})
    def post(self, request, host):
        data = NetworkCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        ipam = d.get("ipam") or {}
        network = services.network_create(
            actor=request.user, host=self.get_host(), name=d["name"], driver=d["driver"], options=d["options"],
            ipam_config=ipam.get("config") or None, internal=d["internal"],
            attachable=d["attachable"], enable_ipv6=d["enable_ipv6"], labels=d["labels"],
            ipam_driver=ipam.get("driver") or "default", ipam_options=ipam.get("options") or None,
        )
        return Response(NetworkSerializer(network).data, status=status.HTTP_201_CREATED)


class NetworkDetail(HostMixin, APIView):
    """`docker network inspect` (GET) and `docker network rm` (DELETE)."""

    @extend_schema(responses=NetworkSerializer)
    def get(self, request, host, ident):
        network, _ = inventory_services.network_fetch(host=self.get_host(), ident=ident)
        return Response(NetworkSerializer(network).data)

    @extend_schema(responses={204: None})
    def delete(self, request, host, ident):
        services.network_remove(actor=request.user, host=self.get_host(), ident=ident)
        return Response(status=status.HTTP_204_NO_CONTENT)


class NetworkConnect(HostMixin, APIView):
    @extend_schema(request=NetworkConnectInput, responses=ContainerSerializer)
    def post(self, request, host, ident):
        data = NetworkConnectInput(data=request.data)
        data.is_valid(raise_exception=True)
        container = services.network_connect(actor=request.user, host=self.get_host(), network=ident,
                                             **data.validated_data)
        return Response(ContainerSerializer(container).data)

    @extend_schema(responses=NetworkSerializer,
                   summary='The network named "{ident}/connect" (as GET …/networks/{ident}/; names may hold "/").')
    def get(self, request, host, ident):
        return _detail(self, request, host, f"{ident}/connect")

    @extend_schema(responses={204: None},
                   summary='Remove the network named "{ident}/connect" (as DELETE …/networks/{ident}/).')
    def delete(self, request, host, ident):
        return _remove(self, request, host, f"{ident}/connect")


class NetworkDisconnect(HostMixin, APIView):
    @extend_schema(request=NetworkDisconnectInput, responses=ContainerSerializer)
    def post(self, request, host, ident):
        data = NetworkDisconnectInput(data=request.data)
        data.is_valid(raise_exception=True)
        container = services.network_disconnect(actor=request.user, host=self.get_host(), network=ident,
                                                **data.validated_data)
        return Response(ContainerSerializer(container).data if container else {})

    @extend_schema(responses=NetworkSerializer,
                   summary='The network named "{ident}/disconnect" (as GET …/networks/{ident}/; names may hold "/").')
    def get(self, request, host, ident):
        return _detail(self, request, host, f"{ident}/disconnect")

    @extend_schema(responses={204: None},
                   summary='Remove the network named "{ident}/disconnect" (as DELETE …/networks/{ident}/).')
    def delete(self, request, host, ident):
        return _remove(self, request, host, f"{ident}/disconnect")


class NetworkPrune(HostMixin, APIView):
    """`docker network prune`; `dry_run` lists what would go without removing anything."""

    @extend_schema(request=NetworkPruneInput, responses=NetworkPruneOutput)
    def post(self, request, host):
        data = NetworkPruneInput(data=request.data)
        data.is_valid(raise_exception=True)
        removed = services.network_prune(actor=request.user, host=self.get_host(), **data.validated_data)
        return Response({"removed": removed})

    @extend_schema(responses=NetworkSerializer, summary='The network named "prune" (as GET …/networks/{ident}/).')
    def get(self, request, host):  # a network named "prune", by name
        return _detail(self, request, host, "prune")

    @extend_schema(responses={204: None}, summary='Remove the network named "prune" (as DELETE …/networks/{ident}/).')
    def delete(self, request, host):  # a network named "prune", by name
        return _remove(self, request, host, "prune")


class NetworkRemoveMany(HostMixin, APIView):
    """`docker network rm A B …`: each one removed (or refused) on its own."""

    @extend_schema(request=NetworkRemoveManyInput, responses=NetworkRemoveManyOutput)
    def post(self, request, host):
        data = NetworkRemoveManyInput(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.network_remove_many(actor=request.user, host=self.get_host(),
                                              idents=data.validated_data["networks"])
        return Response(result, status=status.HTTP_200_OK)

    @extend_schema(responses=NetworkSerializer, summary='The network named "remove" (as GET …/networks/{ident}/).')
    def get(self, request, host):  # a network named "remove", by name
        return _detail(self, request, host, "remove")

    @extend_schema(responses={204: None}, summary='Remove the network named "remove" (as DELETE …/networks/{ident}/).')
    def delete(self, request, host):  # a network named "remove", by name
        return _remove(self, request, host, "remove")


def _detail(view, request, host, ident):
    network, _ = inventory_services.network_fetch(host=view.get_host(), ident=ident)
    return Response(NetworkSerializer(network).data)


def _remove(view, request, host, ident):
    services.network_remove(actor=request.user, host=view.get_host(), ident=ident)
    return Response(status=status.HTTP_204_NO_CONTENT)
