"""The one error shape (api/errors.py), as the schema shows it."""

from __future__ import annotations

from rest_framework import serializers


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="rule, invalid, not_found, permission_denied, ...")
    message = serializers.CharField(help_text="In the words the pages use.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="The field errors, by field name.",
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorBodySerializer()
