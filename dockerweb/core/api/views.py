from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from dockerweb.core import selectors

from .serializers import ActivitySerializer, TokenInput, TokenOutput


class TokenView(APIView):
    """Exchange a user name and password for an API token."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(request=TokenInput, responses=TokenOutput)
    def post(self, request):
        data = TokenInput(data=request.data, context={"request": request})
        if not data.is_valid():
            errors = data.errors
            if "non_field_errors" in errors:
                return Response({"detail": "Wrong user name or password.", "code": "authentication_failed"},
                                status=status.HTTP_400_BAD_REQUEST)
            data.is_valid(raise_exception=True)
        token, _ = Token.objects.get_or_create(user=data.validated_data["user"])
        return Response({"token": token.key})


class ActivityList(generics.ListAPIView):
    """The activity log, newest first. Filters: user, action (prefix), host, outcome, q."""

    serializer_class = ActivitySerializer

    def get_queryset(self):
        return selectors.activity_list(filters=self.request.query_params)
