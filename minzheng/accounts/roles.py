"""Roles, the region level each is bound to, and what each may do.

Scope (which records) is decided by the user's region; capability (which actions) by the role. Both are checked:
scope in the scoped querysets (minzheng.core.scoping), capability in services through `require`.
"""

from django.db import models

from minzheng.core.errors import PermissionDeniedError
from minzheng.regions import codes


class Role(models.TextChoices):
    CLERK = "clerk", "窗口受理员"
    ASSISTANT = "assistant", "民政协理员"
    TOWNSHIP_REVIEWER = "township_reviewer", "乡镇审核员"
    COUNTY_APPROVER = "county_approver", "县级审批员"
    LEADER = "leader", "局领导/规划"
    ADMIN = "admin", "系统管理员"
    AUDITOR = "auditor", "审计员"


# The region levels a user of each role may be bound to.
ROLE_LEVELS: dict[str, set[int]] = {
    Role.CLERK: {codes.TOWNSHIP},
    Role.ASSISTANT: {codes.VILLAGE},
    Role.TOWNSHIP_REVIEWER: {codes.TOWNSHIP},
    Role.COUNTY_APPROVER: {codes.COUNTY},
    Role.LEADER: {codes.COUNTY, codes.CITY, codes.PROVINCE},
    Role.ADMIN: {codes.COUNTRY, codes.PROVINCE, codes.CITY, codes.COUNTY},
    Role.AUDITOR: {codes.COUNTRY, codes.PROVINCE, codes.CITY, codes.COUNTY},
}


class Capability(models.TextChoices):
    VIEW_PEOPLE = "registry.view", "查看人员与家庭"
    EDIT_PEOPLE = "registry.edit", "登记与修改人员、家庭、组织"
    VIEW_AUDIT = "audit.view", "查阅审计日志"
    MANAGE_USERS = "accounts.manage", "管理用户"
    IMPORT_DATA = "checks.import", "导入部门数据"
    RUN_CHECKS = "checks.run", "发起家庭经济状况核对"
    VIEW_CHECKS = "checks.view", "查看核对结果"
    VIEW_MONITORING = "monitoring.view", "查看监测对象、预警与看板"
    HANDLE_WARNINGS = "monitoring.handle", "核实处置监测预警"
    RUN_MONITORING = "monitoring.run", "运行监测比对"
    VIEW_PAYMENTS = "benefits.view", "查看救助待遇与发放名册"
    PREPARE_ROLLS = "benefits.prepare", "编制发放名册、核实暂停明细"
    APPROVE_ROLLS = "benefits.approve", "审核发放名册、导出银行文件、导入回盘"
    SIMULATE = "simulation.run", "政策模拟测算"
    SET_PARAMETERS = "policy.set", "设定政策参数（含采纳模拟方案）"


_FRONT_LINE = {Capability.VIEW_PEOPLE, Capability.EDIT_PEOPLE}
# Monitoring (JC): village assistants and township officers follow warnings up; the county runs the sweeps and takes
# the complex cases (一事一议); leaders watch the dashboard.
_MONITOR = {Capability.VIEW_MONITORING, Capability.HANDLE_WARNINGS}
ROLE_CAPABILITIES: dict[str, set[str]] = {
    Role.CLERK: {*_FRONT_LINE, *_MONITOR},
    Role.ASSISTANT: {*_FRONT_LINE, *_MONITOR},
    Role.TOWNSHIP_REVIEWER: {
        *_FRONT_LINE,
        *_MONITOR,
        Capability.RUN_CHECKS,
        Capability.VIEW_CHECKS,
        Capability.VIEW_PAYMENTS,
    },
    # Checking is requested from and run by the county (DB §17); the county also receives the departments' data.
    Role.COUNTY_APPROVER: {
        *_FRONT_LINE,
        *_MONITOR,
        Capability.RUN_CHECKS,
        Capability.VIEW_CHECKS,
        Capability.IMPORT_DATA,
        Capability.RUN_MONITORING,
        # Payments (DOMAIN.md §11): the county prepares and a second county officer approves (maker–checker).
        Capability.VIEW_PAYMENTS,
        Capability.PREPARE_ROLLS,
        Capability.APPROVE_ROLLS,
    },
    # Planners simulate a change of standard (issue 19); administrators, who enter the parameters, may also adopt one.
    Role.LEADER: {
        Capability.VIEW_PEOPLE,
        Capability.VIEW_CHECKS,
        Capability.VIEW_MONITORING,
        Capability.VIEW_PAYMENTS,
        Capability.SIMULATE,
    },
    Role.ADMIN: {
        *_FRONT_LINE,
        Capability.MANAGE_USERS,
        Capability.IMPORT_DATA,
        Capability.RUN_MONITORING,
        Capability.SIMULATE,
        Capability.SET_PARAMETERS,
    },
    # Auditors read the audit trail; reading personal records is not part of their job.
    Role.AUDITOR: {Capability.VIEW_AUDIT},
}


def has_capability(user, capability: str) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active or user.region_id is None:
        return False
    return capability in ROLE_CAPABILITIES.get(user.role, set())


def require(user, capability: str) -> None:
    if not has_capability(user, capability):
        label = Capability(capability).label if capability in Capability.values else capability
        raise PermissionDeniedError(f"您的角色无权执行此操作：{label}", "forbidden")
