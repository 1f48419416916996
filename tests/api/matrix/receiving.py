"""Receiving: admins (into anyone's custody) and distributors (into their own); reps are
refused; another organization's admin names a custodian outside their organization (400)."""

from .common import ApiExpect, no_kwargs


def _lines(w):
    return {
        "custodian": w.distributor.pk,
        "lines": [{"product": w.objects["unit"].product_id, "serial_numbers": ["API-MX-1"]}],
    }


def _udi(w):
    # The mismatch world's product carries this GTIN; the serial is new.
    return {"udi": "(01)09506000134352(21)API-UDI-1(10)L1", "custodian": w.distributor.pk}


EXPECTATIONS = {
    ("api:receive_lines", "post"): ApiExpect(no_kwargs, 401, 403, 201, 201, 400, 403, data=_lines),
    ("api:receive_udi", "post"): ApiExpect(no_kwargs, 401, 403, 201, 201, 400, 403, data=_udi),
}
