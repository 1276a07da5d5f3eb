from django.http import HttpResponse


def audit_list(request):  # replaced by the auditor's browsing view
    return HttpResponse(status=501)
