"""core.widgets.FastSelect: the same <select> Django would write, without a template per
option (the event filter's facilities and reps)."""

from django import forms

from core.widgets import FastSelect, fast_selects


class PickForm(forms.Form):
    where = forms.ChoiceField(choices=[("", "Any"), ("1", "St. Mary's <Main>"), ("2", "Lakeside")])
    when = forms.DateField(required=False)


def test_options_are_escaped_and_the_chosen_one_selected():
    form = PickForm(data={"where": "1"})
    fast_selects(form)
    html = str(form["where"])
    assert isinstance(form.fields["where"].widget, FastSelect)
    assert '<option value="1" selected>St. Mary&#x27;s &lt;Main&gt;</option>' in html
    assert '<option value="2">Lakeside</option>' in html
    assert html.startswith("<select ") and 'name="where"' in html and 'id="id_where"' in html
    assert "<script" not in html


def test_only_plain_selects_change():
    form = PickForm()
    fast_selects(form)
    assert not isinstance(form.fields["when"].widget, FastSelect)
