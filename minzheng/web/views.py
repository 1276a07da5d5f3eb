from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from minzheng.accounts.roles import Capability, has_capability
from minzheng.registry.models import Household, Person


@login_required
def home(request):
    context = {}
    if has_capability(request.user, Capability.VIEW_PEOPLE):
        context["households"] = Household.objects.for_user(request.user).count()
        context["persons"] = Person.objects.for_user(request.user).count()
    return render(request, "web/home.html", context)
