"""Recalls: admins and distributors (those touching their scope) read them; reps are refused;
only admins record and return. The world's recall names the distributor's lot URL-LOT."""

from django.utils import timezone

from .common import ApiExpect, no_kwargs


def _recall(w):
    return {"pk": w.objects["recall"].pk}


def _new_recall(w):
    recall = w.objects["recall"]
    return {
        "reference": "API-MATRIX-RECALL",
        "recall_class": "I",
        "product": recall.product_id,
        "lot_numbers": ["URL-LOT"],
        "recall_date": timezone.localdate().isoformat(),
        "reason": "Matrix",
    }


def _return(w):
    return {"reference": "RMA-MATRIX", "returned_on": timezone.localdate().isoformat()}


EXPECTATIONS = {
    ("api:recall_list", "get"): ApiExpect(no_kwargs, 401, 403, 200, 200, 200, 403),
    # Another organization's admin names a product outside their catalog: the service's 400.
    ("api:recall_list", "post"): ApiExpect(
        no_kwargs, 401, 403, 403, 201, 400, 403, data=_new_recall
    ),
    ("api:recall_detail", "get"): ApiExpect(_recall, 401, 403, 200, 200, 404, 403),
    ("api:recall_units", "get"): ApiExpect(_recall, 401, 403, 200, 200, 404, 403),
    # The distributor sees the recall but only an admin returns its units (the service's 403).
    ("api:recall_return", "post"): ApiExpect(_recall, 401, 403, 403, 201, 404, 403, data=_return),
    # Another organization's admin looks in their own organization and finds nothing there.
    ("api:recall_lookup", "get"): ApiExpect(
        no_kwargs, 401, 403, 200, 200, 200, 403, query=lambda w: {"q": "URL-LOT"}
    ),
}
