"""The directory: facilities, physicians and procedures an admin keeps."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from accounts.models import User
from accounts.selectors import actor_for
from events import policies
from events.models import (
    Physician,
    Procedure,
)
from inventory.models import Facility

DIRECTORY_MODELS = {"facility": Facility, "physician": Physician, "procedure": Procedure}


# The details each kind of directory entry has, besides its name.
DIRECTORY_DETAILS = {"facility": ("kind", "city"), "physician": ("specialty",), "procedure": ()}


@transaction.atomic
def directory_save(
    *,
    actor: User,
    entry: str,
    name: str,
    kind: str | None = None,
    city: str | None = None,
    specialty: str | None = None,
    instance: Facility | Physician | Procedure | None = None,
) -> Facility | Physician | Procedure:
    """Add or edit a directory entry (admins and distributors). `entry` is facility (name, kind,
    city), physician (name, specialty) or procedure (name); a detail left None stays as it is
    (or takes its default on a new entry). Raises TypeError for a detail the entry does not
    have, ValidationError when the name is taken."""
    if not policies.can_manage_directory(actor=actor_for(actor)):
        raise PermissionDenied("Only admins and distributors edit the directory.")
    model = DIRECTORY_MODELS[entry]
    details = {"kind": kind, "city": city, "specialty": specialty}
    foreign = [f for f, v in details.items() if v is not None and f not in DIRECTORY_DETAILS[entry]]
    if foreign:
        raise TypeError(f"A {entry} has no {', '.join(foreign)}.")
    obj = instance or model(organization_id=actor.organization_id)
    if obj.organization_id != actor.organization_id or not isinstance(obj, model):
        raise PermissionDenied("Not found.")
    obj.name = name
    for field in DIRECTORY_DETAILS[entry]:
        if details[field] is not None:
            setattr(obj, field, details[field])
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:
        raise ValidationError({"name": f"A {entry} with this name exists already."}) from exc
    return obj


def check_directory(actor: User, *objs) -> None:
    for obj in objs:
        if obj is not None and obj.organization_id != actor.organization_id:
            raise ValidationError("Choose from your organization's directory.")
