"""`GET /api/hosts/{host}/topology/`: the graph of one host, built from the mirror."""
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from dockerweb.core.permissions import may
from dockerweb.inventory.api.views import HostMixin
from dockerweb.topology import selectors


class TopologyView(HostMixin, APIView):
    """Nodes (host, network, container, volume — also bind and tmpfs mounts —, port) and edges
    (attached, mounts, publishes, shares_netns, link) with the ids live patches use."""

    @extend_schema(responses={200: OpenApiResponse(description="{seq, nodes: [{id, kind, label, data}], "
                                                                "edges: [{id, source, target, kind, data}]}: `seq` is "
                                                                "the number of the last live patch this graph "
                                                                "includes; apply only later ones")})
    def get(self, request, host):
        h = self.get_host()
        if not may(request.user, "read", h):  # the one check (per-host grants would land there)
            raise PermissionDenied(f"You may not read host {h.name!r}.")
        return Response(selectors.topology_get(host=h, with_seq=True))
