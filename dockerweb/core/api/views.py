from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from dockerweb.core import selectors, services
from dockerweb.core.errors import PermissionDenied
from dockerweb.core.permissions import Role, user_role
from dockerweb.core.lockout import locked_out, request_locked_out

from .params import query_params
from .schema import ErrorSerializer
from .serializers import (ActivityFilters, ActivitySerializer, BindRootInput, BindRootParams, BindRootSerializer,
                          TokenInput, TokenOutput)


class TokenView(APIView):
    """Exchange a user name and password for an API token.

    Sign-ins are throttled like the login page's: after `DOCKERWEB_LOGIN_FAILURE_LIMIT` wrong
    passwords for one account from one address, that account is refused from that address
    (the right password too) for `DOCKERWEB_LOGIN_COOLOFF_MINUTES`, with 403 and code
    `locked_out`; an admin can lift the lock on the Users page."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(request=TokenInput, responses={
        200: TokenOutput,
        403: OpenApiResponse(ErrorSerializer, description=(
            "Locked out (`code: locked_out`): too many failed sign-ins for this account from this address; "
            "`retry_after_minutes` says when to try again. Also answered to the right password while locked.")),
    })
    def post(self, request):
        # TokenInput checks the password with django.contrib.auth.authenticate(request=...), so the
        # lockout backend sees this request and counts its failures like the login page's.
        data = TokenInput(data=request.data, context={"request": request})
        if not data.is_valid():
            if request_locked_out(request):
                raise locked_out(username=str(data.initial_data.get("username", "")),
                                 ip_address=getattr(request, "axes_ip_address", None))
            if "non_field_errors" in data.errors:
                return Response({"detail": "Wrong user name or password.", "code": "authentication_failed"},
                                status=status.HTTP_400_BAD_REQUEST)
            data.is_valid(raise_exception=True)
        token, _ = Token.objects.get_or_create(user=data.validated_data["user"])
        return Response({"token": token.key})


@extend_schema_view(get=extend_schema(parameters=[ActivityFilters]))
class ActivityList(generics.ListAPIView):
    """The activity log, newest first. Filters: user, action (prefix), host, outcome, q."""

    serializer_class = ActivitySerializer

    def get_queryset(self):
        return selectors.activity_list(filters=query_params(ActivityFilters, self.request))


class BindRootList(APIView):
    """The bind allow-list: the host folders under which admins may bind paths into containers
    (admins only, to read and to change). Until the first change it is the value of
    `DOCKERWEB_BIND_ALLOWLIST` (`origin: environment`); the first change saves it in dockerweb's
    database, which is used from then on. Every change is in the activity log."""

    pagination_class = None

    @extend_schema(responses={200: BindRootSerializer(many=True)})
    def get(self, request):
        if user_role(request.user) < Role.ADMIN:
            raise PermissionDenied("Only admins may see and change dockerweb's settings.")
        return Response(BindRootSerializer(selectors.bind_roots(), many=True).data)

    @extend_schema(request=BindRootInput, responses={201: BindRootSerializer})
    def post(self, request):
        """Add a folder: it must be absolute, exist on dockerweb's machine, not be in the list yet
        (409), and be none of `/`, `/etc`, `/proc`, `/sys`, … an engine's socket or data root,
        dockerweb's own data, nor contain one of them."""
        data = BindRootInput(data=request.data)
        data.is_valid(raise_exception=True)
        root = services.bind_root_add(actor=request.user, path=data.validated_data["path"])
        return Response(BindRootSerializer(root).data, status=status.HTTP_201_CREATED)

    @extend_schema(parameters=[BindRootParams], responses={204: None})
    def delete(self, request):
        """Take the folder `?path=` off the list (404 if it is not on it)."""
        services.bind_root_remove(actor=request.user, path=query_params(BindRootParams, request)["path"])
        return Response(status=status.HTTP_204_NO_CONTENT)
