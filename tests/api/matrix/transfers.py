"""Transfers through the API, for every caller. The world's transfer: the (pooled) rep sent a
unit to the distributor; it is pending. The rep may cancel it, not answer it; the distributor
answers it, not cancels it; an admin does either; another organization's admin and a rep of
another group find nothing."""

from .common import ApiExpect, no_kwargs


def _transfer(w):
    return {"pk": w.objects["transfer"].pk}


def _send_unit_to_distributor(w):
    return {"unit_ids": [w.objects["unit"].pk], "recipient": w.distributor.pk}


EXPECTATIONS = {
    ("api:transfer_list", "get"): ApiExpect(no_kwargs, 401, 200, 200, 200, 200, 200),
    # The rep's own unit to the distributor: the rep sends it, the distributor (for her rep)
    # and an admin too; another organization's admin cannot name the recipient (400, the
    # picker's words), and a rep of another group cannot move the unit (400, the rule's words).
    ("api:transfer_list", "post"): ApiExpect(
        no_kwargs, 401, 201, 201, 201, 400, 400, data=_send_unit_to_distributor
    ),
    ("api:transfer_detail", "get"): ApiExpect(_transfer, 401, 200, 200, 200, 404, 404),
    ("api:transfer_accept", "post"): ApiExpect(_transfer, 401, 403, 200, 200, 404, 404),
    ("api:transfer_decline", "post"): ApiExpect(
        _transfer, 401, 403, 200, 200, 404, 404, data=lambda w: {"reason": "Wrong size"}
    ),
    ("api:transfer_cancel", "post"): ApiExpect(_transfer, 401, 200, 403, 200, 404, 404),
}
