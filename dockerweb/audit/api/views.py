"""Audit API: the live audit (contract), saved audits, comparisons, probes. Thin: check, call, return."""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from dockerweb.audit import selectors, services
from dockerweb.core.api.params import query_params
from dockerweb.inventory.api.views import HostMixin

from .serializers import (AuditCompareParams, AuditLiveSerializer, AuditProbeInput, AuditRunInput, AuditSerializer,
                          AuditSummarySerializer)


class AuditLive(HostMixin, APIView):
    """GET: findings (and the reachability matrix) computed now from the mirror. POST: run and
    save an audit (operator), optionally proving every pair with live probes."""

    @extend_schema(responses=AuditLiveSerializer)
    def get(self, request, host):
        h = self.get_host()
        matrix, findings = selectors.audit_model(host=h)
        return Response({"host": h.name, "findings": findings, "matrix": matrix})

    @extend_schema(request=AuditRunInput, responses={201: AuditSerializer, 202: AuditSerializer})
    def post(self, request, host):
        data = AuditRunInput(data=request.data)
        data.is_valid(raise_exception=True)
        d = dict(data.validated_data)
        if d.get("background") is None:
            d["background"] = d["probe"]  # probing every pair is long work: a worker does it
        audit = services.audit_run(actor=request.user, host=self.get_host(), **d)
        code = status.HTTP_201_CREATED if audit.done else status.HTTP_202_ACCEPTED
        return Response(AuditSerializer(audit).data, status=code)


class AuditProbe(HostMixin, APIView):
    """Probe a pair (both directions) or every pair of a network, now (operator)."""

    @extend_schema(request=AuditProbeInput, responses=OpenApiTypes.OBJECT)
    def post(self, request, host):
        data = AuditProbeInput(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(services.audit_probe(actor=request.user, host=self.get_host(), **data.validated_data))


class AuditList(HostMixin, generics.ListAPIView):
    """Saved audits of a host, newest first."""

    serializer_class = AuditSummarySerializer

    def get_queryset(self):
        return selectors.audit_list(host=self.get_host())


class AuditDetail(HostMixin, APIView):
    """One saved audit, whole (the JSON export)."""

    @extend_schema(responses=AuditSerializer)
    def get(self, request, host, pk):
        return Response(AuditSerializer(selectors.audit_get(host=self.get_host(), pk=pk)).data)


class AuditCompare(HostMixin, APIView):
    """`?a=<id>&b=<id>`: what became reachable, what got fixed, from audit a to audit b."""

    @extend_schema(parameters=[AuditCompareParams], responses=OpenApiTypes.OBJECT)
    def get(self, request, host):
        h = self.get_host()
        p = query_params(AuditCompareParams, request)
        return Response(selectors.audit_compare(before=selectors.audit_get(host=h, pk=p["a"]),
                                                after=selectors.audit_get(host=h, pk=p["b"])))
