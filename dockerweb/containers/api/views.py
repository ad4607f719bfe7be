from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from dockerweb.containers import exec as exec_services
from dockerweb.containers import logs as logs_services
from dockerweb.containers import services
from dockerweb.containers import stats as stats_services
from dockerweb.engine import images as engine_images
from dockerweb.core.api.params import query_params
from dockerweb.core.api.schema import errors
from dockerweb.inventory import selectors as inventory
from dockerweb.inventory.api.serializers import ContainerFilters, ContainerSerializer
from dockerweb.inventory.api.views import HostMixin

from .serializers import (ActionInput, ContainerRemoveManyInput, ContainerRemoveParams, ContainerRunInput, ExecInput,
                          ExecResultSerializer, ImageSerializer, RemoveManyOutput)
from .serializers import LogsDownloadParams, LogsParams, LogsSerializer, StatsSerializer


def _body(container):
    return ContainerSerializer(container).data if not isinstance(container, dict) else container


@extend_schema_view(get=extend_schema(parameters=[ContainerFilters]))
class ContainerListCreate(HostMixin, generics.ListAPIView):
    """Containers of a host. Filters: state, name, image, network, label. POST runs one (`docker run -d`)."""

    serializer_class = ContainerSerializer

    def get_queryset(self):
        return inventory.container_list(host=self.get_host(), filters=query_params(ContainerFilters, self.request),
                                       as_lists=True)

    @extend_schema(request=ContainerRunInput, responses={201: ContainerSerializer})
    def post(self, request, host):
        container = services.container_run(actor=request.user, host=self.get_host(), data=request.data)
        return Response(_body(container), status=status.HTTP_201_CREATED)


class ContainerDetail(HostMixin, APIView):
    @extend_schema(responses=ContainerSerializer)
    def get(self, request, host, ident):
        return Response(ContainerSerializer(inventory.container_get(host=self.get_host(), ident=ident)).data)

    @extend_schema(parameters=[ContainerRemoveParams], responses={204: None})
    def delete(self, request, host, ident):
        p = query_params(ContainerRemoveParams, request)
        services.container_remove(actor=request.user, host=self.get_host(), ident=ident, force=p["force"],
                                  volumes=p["volumes"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class ContainerRemoveMany(HostMixin, APIView):
    """`docker rm [-f] [-v] A B …`: each one removed (or refused) on its own, and logged on its own."""

    @extend_schema(request=ContainerRemoveManyInput, responses=RemoveManyOutput)
    def post(self, request, host):
        data = ContainerRemoveManyInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        result = services.container_bulk(actor=request.user, host=self.get_host(), action="remove",
                                         idents=v["containers"], force=v["force"], volumes=v["volumes"])
        return Response({"removed": result["done"], "errors": result["errors"]}, status=status.HTTP_200_OK)

    @extend_schema(responses=ContainerSerializer, summary='The container named "remove" (as GET …/containers/{ident}/).')
    def get(self, request, host):  # a container named "remove", by name
        return ContainerDetail.get(self, request, host, "remove")

    @extend_schema(parameters=[ContainerRemoveParams], responses={204: None},
                   summary='Remove the container named "remove" (as DELETE …/containers/{ident}/).')
    def delete(self, request, host):  # a container named "remove", by name
        return ContainerDetail.delete(self, request, host, "remove")


class ContainerAction(HostMixin, APIView):
    """`POST …/start/`, `…/stop/`, `…/restart/`: the container as it is afterwards (204 if it is gone)."""

    verb = ""
    calls = {"start": services.container_start, "stop": services.container_stop,
             "restart": services.container_restart}

    @extend_schema(request=ActionInput, responses={200: ContainerSerializer, 204: None})
    def post(self, request, host, ident):
        # The body is read for every verb (start ignores `timeout`), so a malformed one is a 400.
        data = ActionInput(data=request.data)
        data.is_valid(raise_exception=True)
        kwargs = {} if self.verb == "start" else {"timeout": data.validated_data["timeout"]}
        container = self.calls[self.verb](actor=request.user, host=self.get_host(), ident=ident, **kwargs)
        if container is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(ContainerSerializer(container).data)


class ImageList(HostMixin, APIView):
    """The host's local images, the only ones a container can be run from (no registry here)."""

    @extend_schema(responses={200: ImageSerializer(many=True), **errors(503)})
    def get(self, request, host):
        return Response(ImageSerializer(engine_images.image_list(self.get_host()), many=True).data)


class ContainerExec(HostMixin, APIView):
    """`docker exec` without a TTY: run a command once in a running container, get its exit code
    and its output (stdout and stderr in order, at most 1 MiB). After `timeout` seconds the
    command is killed and the answer says `timed_out: true, exit_code: null`. Operators; into a
    container that reaches the host (privileged, host namespaces, binds, capabilities,
    devices), admins only. A stopped container is a 409."""

    @extend_schema(request=ExecInput, responses={200: ExecResultSerializer})
    def post(self, request, host, ident):
        data = ExecInput(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(exec_services.container_exec(actor=request.user, host=self.get_host(), ident=ident,
                                                     **data.validated_data))


class ContainerLogs(HostMixin, APIView):
    """The container's log: its last `tail` lines (at most 10000), within `since`/`until`, of
    stdout, stderr or both, each with its stream and (with `timestamps`) its time. A read: the
    viewer role is enough. A stopped container's log is there too; a container whose logging
    driver keeps nothing to read (`none`, `syslog`, …) is a 409."""

    @extend_schema(parameters=[LogsParams], responses={200: LogsSerializer, **errors(409, 503)})
    def get(self, request, host, ident):
        p = query_params(LogsParams, request)
        return Response(LogsSerializer(logs_services.container_logs(
            user=request.user, host=self.get_host(), ident=ident, tail=p["tail"], since=p.get("since"),
            until=p.get("until"), timestamps=p["timestamps"], stream=p["stream"])).data)


class ContainerLogsDownload(HostMixin, APIView):
    """The container's whole log (within `since`/`until`) as a text file, as `docker logs` prints
    it (with `timestamps`, each line starts with its time), streamed."""

    @extend_schema(parameters=[LogsDownloadParams],
                   responses={(200, "text/plain"): OpenApiTypes.STR, **errors(409, 503)})
    def get(self, request, host, ident):
        p = query_params(LogsDownloadParams, request)
        filename, chunks = logs_services.container_logs_download(
            user=request.user, host=self.get_host(), ident=ident, since=p.get("since"), until=p.get("until"),
            timestamps=p["timestamps"], stream=p["stream"])
        response = StreamingHttpResponse(chunks, content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


class ContainerStats(HostMixin, APIView):
    """One reading of the container's resource use, as `docker stats` reckons it (takes about a
    second: the engine samples twice for the CPU figure). A container that is not running: 409."""

    @extend_schema(responses={200: StatsSerializer, **errors(409, 503)})
    def get(self, request, host, ident):
        return Response(StatsSerializer(stats_services.container_stats(
            user=request.user, host=self.get_host(), ident=ident)).data)
