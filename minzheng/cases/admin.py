"""Administrators maintain the conflict-of-interest declarations (近亲属备案) here. Cases themselves are changed only
through the workflow services (their event log is the record), so they are not editable in the admin."""

from django import forms
from django.contrib import admin

from minzheng.core.masking import mask_id_number
from minzheng.registry.forms import clean_identity_number

from .models import InterestDeclaration


class InterestDeclarationForm(forms.ModelForm):
    class Meta:
        model = InterestDeclaration
        fields = ["name", "id_number", "kind", "related_to", "region", "active"]

    def clean_id_number(self) -> str:
        return clean_identity_number(self.cleaned_data["id_number"])


@admin.register(InterestDeclaration)
class InterestDeclarationAdmin(admin.ModelAdmin):
    form = InterestDeclarationForm
    list_display = ("name", "masked_id", "kind", "related_to", "region", "active")
    list_filter = ("kind", "active")
    search_fields = ("name", "id_number", "related_to")
    raw_id_fields = ("region",)

    @admin.display(description="公民身份号码")
    def masked_id(self, obj) -> str:
        return mask_id_number(obj.id_number)
