"""The form renderer writes a select's options itself, exactly as Django's templates would."""

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


def test_same_markup_as_django_templates():
    for data in (
        None,
        {"plain": '"q"'},
        {"plain": "10", "grouped": "b", "many": ["x", "y"], "styled": "1", "radio": "2"},
    ):
        ours, django = Sample(data, renderer=FormRenderer()), Sample(data, renderer=DjangoTemplates())
        for name in Sample.base_fields:
            assert str(ours[name]) == str(django[name]), name
    assert str(Sample({"plain": "10"}, renderer=FormRenderer())["plain"]).count("selected") == 1
