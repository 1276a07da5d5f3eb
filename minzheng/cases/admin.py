"""Administrators maintain the conflict-of-interest declarations (近亲属备案) of their region subtree here. Cases are
not in the admin (see `core.admin_scope`): they change only through the workflow services, whose event log is the
record, and are read on the scoped, audited pages."""

from django import forms
from django.contrib import admin

from minzheng.core.admin_scope import ScopedAdmin
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
class InterestDeclarationAdmin(ScopedAdmin):
    # The change page shows the relative's full identity number: each view is audited, as on the pages.
    audit_views = True
    form = InterestDeclarationForm
    list_display = ("name", "masked_id", "kind", "related_to", "region", "active")
    list_filter = ("kind", "active")
    search_fields = ("name", "id_number", "related_to")
    raw_id_fields = ("region",)

    @admin.display(description="公民身份号码")
    def masked_id(self, obj) -> str:
        return mask_id_number(obj.id_number)
