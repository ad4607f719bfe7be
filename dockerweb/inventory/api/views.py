from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from dockerweb.inventory import selectors, services

from .serializers import HostCreateInput, HostSerializer


class HostMixin:
    """API views under /api/hosts/{host}/ find their host here (404 with a sentence if unknown)."""

    def get_host(self):
        if not hasattr(self, "_host"):
            self._host = selectors.host_get(name=self.kwargs["host"])
        return self._host


class HostListCreate(generics.ListAPIView):
    """Registered hosts; admins register an engine by URL (it must answer)."""

    serializer_class = HostSerializer
    queryset = selectors.host_list()

    @extend_schema(request=HostCreateInput, responses={201: HostSerializer})
    def post(self, request):
        data = HostCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        host = services.host_create(actor=request.user, **data.validated_data)
        return Response(HostSerializer(host).data, status=status.HTTP_201_CREATED)


class HostDetail(HostMixin, APIView):
    @extend_schema(responses=HostSerializer)
    def get(self, request, host):
        return Response(HostSerializer(self.get_host()).data)

    @extend_schema(responses={204: None})
    def delete(self, request, host):
        services.host_remove(actor=request.user, host=self.get_host())
        return Response(status=status.HTTP_204_NO_CONTENT)
