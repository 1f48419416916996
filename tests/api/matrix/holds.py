"""Releasing holds: admins only; another organization's admin finds no such unit (400, the
service's "not found", the same as for an id that does not exist)."""

from .common import ApiExpect, no_kwargs


def _on_hold(w) -> None:
    from inventory.services.transfers import transfer_create, transfer_decline
    from tests.inventory.factories import receive_units

    (unit,) = receive_units(w.admin, w.rep, n=1, serial_prefix="HOLD-")
    (transfer,) = transfer_create(actor=w.rep, unit_ids=[unit.pk], recipient=w.distributor)
    transfer_decline(actor=w.distributor, transfer=transfer, reason="Matrix")
    w.objects["on_hold"] = unit


WORLD_HOOKS = [_on_hold]

EXPECTATIONS = {
    ("api:hold_release", "post"): ApiExpect(
        no_kwargs,
        401,
        403,
        403,
        200,
        400,
        403,
        data=lambda w: {"unit_ids": [w.objects["on_hold"].pk]},
    ),
}
