"""The form renderer writes selects, inputs and text areas itself, exactly as Django's templates would."""

from django import forms
from django.forms.renderers import DjangoTemplates

from minzheng.core.forms import FormRenderer


class Sample(forms.Form):
    plain = forms.ChoiceField(choices=[("", "—"), ("02", "户主"), ("10", "配偶 <夫>"), (3, "子 & 女"), ('"q"', "引号")])
    grouped = forms.ChoiceField(choices=[("一组", [("a", "甲"), ("b", "乙")]), ("c", "丙")], required=False)
    many = forms.MultipleChoiceField(choices=[("x", "X"), ("y", "Y")], required=False)
    styled = forms.ChoiceField(
        choices=[("1", "一")], widget=forms.Select(attrs={"class": "form-select", "disabled": True, "data-x": 'a"b'})
    )
    radio = forms.ChoiceField(choices=[("1", "一"), ("2", "二")], widget=forms.RadioSelect)
    text = forms.CharField(
        max_length=20, widget=forms.TextInput(attrs={"class": "form-control", "placeholder": '<"x">'})
    )
    hidden = forms.IntegerField(widget=forms.HiddenInput, required=False)
    number = forms.DecimalField(required=False, widget=forms.NumberInput(attrs={"step": "0.01", "min": 0}))
    on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date", "max": "2026-12-07"}))
    agreed = forms.BooleanField(required=False)
    secret = forms.CharField(required=False, widget=forms.PasswordInput)
    mail = forms.EmailField(required=False)
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))


def test_same_markup_as_django_templates():
    for data in (
        None,
        {"plain": '"q"'},
        {"plain": "10", "grouped": "b", "many": ["x", "y"], "styled": "1", "radio": "2"},
        {"text": '李<四> & "五"', "hidden": "7", "number": "1.5", "on": "2026-01-02", "agreed": "on", "secret": "pw"},
        {"notes": "第一行\n<b>第二行</b> & 完", "mail": "a@b.cn", "text": ""},
    ):
        ours, django = Sample(data, renderer=FormRenderer()), Sample(data, renderer=DjangoTemplates())
        for name in Sample.base_fields:
            assert str(ours[name]) == str(django[name]), name
    assert str(Sample({"plain": "10"}, renderer=FormRenderer())["plain"]).count("selected") == 1


def test_same_markup_for_initial_values():
    initial = {"text": "甲 & 乙", "hidden": 12, "number": 3, "on": "2026-12-01", "agreed": True, "notes": "<p>"}
    ours, django = Sample(initial=initial, renderer=FormRenderer()), Sample(initial=initial, renderer=DjangoTemplates())
    for name in Sample.base_fields:
        assert str(ours[name]) == str(django[name]), name
