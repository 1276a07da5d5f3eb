from django.http import HttpResponse


def intake(request):  # placeholder, replaced by the intake page
    return HttpResponse(status=501)


def case_detail(request, pk: int):  # placeholder
    return HttpResponse(status=501)


def case_action(request, pk: int, action: str):  # placeholder
    return HttpResponse(status=501)
