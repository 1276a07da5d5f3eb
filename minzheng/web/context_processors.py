from minzheng.accounts.roles import Capability, has_capability


def capabilities(request) -> dict:
    user = getattr(request, "user", None)
    return {
        "perms_view_people": has_capability(user, Capability.VIEW_PEOPLE),
        "perms_edit_people": has_capability(user, Capability.EDIT_PEOPLE),
        "perms_view_audit": has_capability(user, Capability.VIEW_AUDIT),
        "perms_import_data": has_capability(user, Capability.IMPORT_DATA),
        "perms_view_checks": has_capability(user, Capability.VIEW_CHECKS),
        "perms_view_monitoring": has_capability(user, Capability.VIEW_MONITORING),
        "perms_run_monitoring": has_capability(user, Capability.RUN_MONITORING),
        "perms_view_payments": has_capability(user, Capability.VIEW_PAYMENTS),
        "perms_simulate": has_capability(user, Capability.SIMULATE),
    }
