from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from dockerweb.containers import services
from dockerweb.engine import images as engine_images
from dockerweb.core.errors import BadRequest
from dockerweb.inventory import selectors as inventory
from dockerweb.inventory.api.serializers import ContainerSerializer
from dockerweb.inventory.api.views import HostMixin

from .serializers import ActionInput, ContainerRunInput, ImageSerializer


def _flag(request, name: str) -> bool:
    value = request.query_params.get(name, "")
    if value.lower() in ("", "0", "false", "no"):
        return False
    if value.lower() in ("1", "true", "yes"):
        return True
    raise BadRequest(f"?{name}= must be true or false.", field=name)


def _body(container):
    return ContainerSerializer(container).data if not isinstance(container, dict) else container


class ContainerListCreate(HostMixin, generics.ListAPIView):
    """Containers of a host. Filters: state, name, image, network, label. POST runs one (`docker run -d`)."""

    serializer_class = ContainerSerializer

    def get_queryset(self):
        return inventory.container_list(host=self.get_host(), filters=self.request.query_params)

    @extend_schema(request=ContainerRunInput, responses={201: ContainerSerializer})
    def post(self, request, host):
        container = services.container_run(actor=request.user, host=self.get_host(), data=request.data)
        return Response(_body(container), status=status.HTTP_201_CREATED)


class ContainerDetail(HostMixin, APIView):
    @extend_schema(responses=ContainerSerializer)
    def get(self, request, host, ident):
        return Response(ContainerSerializer(inventory.container_get(host=self.get_host(), ident=ident)).data)

    @extend_schema(parameters=[OpenApiParameter("force", bool), OpenApiParameter("volumes", bool)],
                   responses={204: None})
    def delete(self, request, host, ident):
        services.container_remove(actor=request.user, host=self.get_host(), ident=ident,
                                  force=_flag(request, "force"), volumes=_flag(request, "volumes"))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ContainerAction(HostMixin, APIView):
    """`POST …/start/`, `…/stop/`, `…/restart/`: the container as it is afterwards (204 if it is gone)."""

    verb = ""
    calls = {"start": services.container_start, "stop": services.container_stop,
             "restart": services.container_restart}

    @extend_schema(request=ActionInput, responses={200: ContainerSerializer, 204: None})
    def post(self, request, host, ident):
        kwargs = {}
        if self.verb != "start":
            data = ActionInput(data=request.data)
            data.is_valid(raise_exception=True)
            kwargs["timeout"] = data.validated_data["timeout"]
        container = self.calls[self.verb](actor=request.user, host=self.get_host(), ident=ident, **kwargs)
        if container is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(ContainerSerializer(container).data)


class ImageList(HostMixin, APIView):
    """The host's local images, the only ones a container can be run from (no registry here)."""

    @extend_schema(responses={200: ImageSerializer(many=True)})
    def get(self, request, host):
        return Response(ImageSerializer(engine_images.image_list(self.get_host()), many=True).data)
