from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render

from minzheng.core.errors import DomainError
from minzheng.core.forms import BootstrapMixin, attach_error
from minzheng.core.http import staff_view

from . import services


class TokenForm(BootstrapMixin, forms.Form):
    name = forms.CharField(label="用途", max_length=100)
    days = forms.IntegerField(label="有效期（天）", initial=90, min_value=1, max_value=services.MAX_TOKEN_DAYS)


@staff_view
def tokens(request):
    raw = None
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _token, raw = services.issue_token(request.user, form.cleaned_data["name"], form.cleaned_data["days"])
        except DomainError as exc:
            attach_error(form, exc)
        else:
            form = TokenForm()
    return render(
        request,
        "accounts/tokens.html",
        {"form": form, "raw": raw, "tokens": request.user.api_tokens.all()},
    )


@staff_view
def revoke_token(request, pk: int):
    if request.method == "POST":
        services.revoke_token(request.user, pk)
        messages.success(request, "令牌已吊销")
    return redirect("accounts:tokens")
