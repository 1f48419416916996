"""Users, as the caller may see them: the people of their own organization.

Everyone of the organization may look people up (`User.objects.visible_to`: "admins manage,
others pick"), so every member may list them; what a row shows beyond name, username, role,
group and status (the email) is for those who manage users, as on the pages. Integration
service users appear only to those who manage users: they make the tokens that act as them,
and a service user is nobody anyone else picks, transfers to or @mentions.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from accounts.models import Role
from accounts.policies import can_manage_users
from accounts.selectors import user_list
from api.pagination import paged_response
from api.serializers.base import InputSerializer
from api.serializers.responses import PAGE_PARAMS, READ_ERRORS, paged
from api.serializers.users import UserSerializer
from api.views.base import ApiView, scoped_object

USER_KEYSET = (("pk", "asc"),)


class UserFilter(InputSerializer):
    role = serializers.ChoiceField(choices=Role.choices, required=False)


def _users(view, *, role: str = ""):
    """The page's selector (the caller's organization, with group and rep count), and whether
    the caller manages users."""
    manages = can_manage_users(actor=view.actor)
    users = user_list(viewer=view.request.user, role=role).defer("password")
    if not manages:
        users = users.exclude(is_service=True)
    return users, manages


class UserList(ApiView):
    @extend_schema(
        operation_id="users_list",
        parameters=[UserFilter, *PAGE_PARAMS],
        responses={200: paged(UserSerializer), **READ_ERRORS},
    )
    def get(self, request):
        """People of the caller's organization, by id."""
        filters = UserFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        users, manages = _users(self, role=filters.validated_data.get("role", ""))
        return paged_response(
            request, users, USER_KEYSET, UserSerializer, context={"can_manage": manages}
        )


class UserDetail(ApiView):
    @extend_schema(operation_id="users_retrieve", responses={200: UserSerializer, **READ_ERRORS})
    def get(self, request, pk):
        users, manages = _users(self)
        person = scoped_object(users, pk=pk)
        return Response(UserSerializer(person, context={"can_manage": manages}).data)
