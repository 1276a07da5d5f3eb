"""Shared helpers for forms that submit to services."""

from django import forms

from minzheng.core.errors import DomainError


def attach_error(form: forms.BaseForm, exc: DomainError) -> None:
    """Show a service's DomainError on the field it names, or at the top of the form."""
    message = exc.message
    url = exc.context.get("existing_url")
    if url:
        message = f"{message}（查看已登记记录：{url}）"
    if exc.field and exc.field in form.fields:
        form.add_error(exc.field, message)
    else:
        form.add_error(None, message)


class BootstrapMixin:
    """Bootstrap classes on every widget, so templates can render fields plainly."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            if isinstance(field.widget, forms.CheckboxInput):
                css = "form-check-input"
            field.widget.attrs.setdefault("class", css)
