"""What an auditor reads in the audit log: Chinese names for the object types, the detail's keys and coded values, and
region names — never the stored internals (`warning`, `{"action":"visit"}`, 130722100201). The stored entries are
not touched (they are hash-chained); only their display is translated."""

import ast
import datetime
import json
from functools import cache

from django.apps import apps
from django.utils.translation import gettext

from minzheng.cases import workflows as wf
from minzheng.cases.views import ACTION_LABELS
from minzheng.core.audit import DENIAL_REASONS
from minzheng.core.models import AuditEntry
from minzheng.monitoring.models import Outcome, Visit
from minzheng.regions.models import Region

# Object types written by name rather than through a model's `audit_type` (lists, pages, exports, runs).
EXTRA_TYPES = {
    "audit_log": "审计日志",
    "warning_list": "预警任务列表",
    "monitored_register": "监测对象名册",
    "rejects_report": "导入问题报告",
    "batch_run": "批处理运行",
    "case_queue": "待办案件列表",
    "household_list": "家庭名单",
    "public_notice": "公示名单",
    "published_list": "救助对象公布名单",
    "search": "查询",
    "user": "用户账号",
    "api_token": "API令牌",
    "system": "系统",
}
# The filters a list page records with its view (the audit log's own, the warning list's): named as on those pages.
FILTER_KEYS = {"action": "操作", "status": "状态", "page": "页码"}
_STATUSES = {"active": "未办结", "open": "待核实", "visited": "已走访，待处置", "closed": "已办结", "all": "全部"}

DETAIL_KEYS = {
    "action": "办理事项",
    "state": "办理后状态",
    "finding": "核实结论",
    "outcome": "处置结论",
    "page": "页面",
    "filters": "筛选条件",
    "before": "分页位置",
    "id_number": "公民身份号码",
    "changes": "修改内容",
    "members": "成员人数",
    "region": "区划",
    "member_added": "新增成员（人员编号）",
    "member_left": "迁出成员（人员编号）",
    "name": "姓名",
    "relationship": "与户主关系",
    "reason": "原因",
    "head": "户主（原、新人员编号）",
    "categories": "授权核对类别",
    "as_of": "基准日",
    "change": "变动类别",
    "rows": "行数",
    "format": "格式",
    "document": "文书",
    "version": "版本",
    "path": "文件",
    "issued": "签发",
    "revoked": "吊销",
    "expires_at": "有效期至",
    "username": "用户名",
    "by_rule": "按预警规则",
    "report": "报告",
    "category": "类别",
    "history": "含已退出记录",
    "q": "查询内容",
    "query": "查询内容",
    "kind": "查询方式",
    "status": "状态",
    "rule": "预警规则",
    "level": "级别",
    "overdue": "只看超期",
    "service": "事项",
    "township": "乡镇（街道）",
    "count": "条数",
    "source": "数据来源",
    "period": "数据期",
    "file_name": "文件名",
    "material": "材料",
    "size": "大小（字节）",
    "print": "打印",
    "object_type": "对象类型",
    "object_id": "对象编号",
    "date_from": "起始日期",
    "date_to": "截止日期",
    "after": "翻页位置",
    "case": "形成案件",
    "referral": "转介（编号）",
    # 审核确认 against the check (issue 15), payments (issue 17), simulation (issue 19), imports (issue 18)
    "check_override": "越过核对结果",
    "concerns": "核对结果问题",
    "reasons": "理由",
    "amount": "金额",
    "computed_amount": "核对测算金额",
    "amount_reason": "金额调整理由",
    "month": "发放月份",
    "line": "发放明细（流水号）",
    "lines": "笔数",
    "lines_hash": "名册明细摘要",
    "total_fen": "合计（分）",
    "reissued": "补发明细（流水号）",
    "layout": "银行文件格式",
    "sha256": "文件摘要",
    "paid": "发放成功笔数",
    "failed": "发放失败笔数",
    "opened": "发起复核案件",
    "skipped": "未重复发起（户）",
    "household": "家庭（编号）",
    "api": "通过接口",
    "scenario": "模拟方案（编号）",
    "run": "运行（编号）",
    "parameters": "写入的参数（编号）",
    "effective_from": "施行日期",
    "value": "参数值",
    "basis": "依据",
    "original_name": "原文件名",
    "refused": "拒收原因",
    "message": "说明",
    "rejects_path": "问题报告",
    # a denied attempt (core.audit.denied): the record's region and the address asked for
    "target_region": "记录所在区划",
    "admin": "管理后台操作",
}
# In a denied attempt the path is the address that was asked for, not a file.
_DENIAL_KEYS = {"path": "访问地址"}
# Steps recorded on objects other than cases (a warning's follow-up).
_OTHER_ACTIONS = {
    "visit": "入户核实",
    "close": "办结",
    "release": "放行暂停明细",
    "stop": "停发暂停明细",
    "approve": "审核通过",
    "bank_return": "导入银行回盘",
    "open_reviews": "为差异家庭发起复核",
}
_PAGES = {"monitoring_chain": "一户一条救助链", "household": "家庭信息"}
_FORMATS = {"xlsx": "Excel", "pdf": "PDF", "csv": "CSV", "print": "打印"}
_SEARCH_KINDS = {
    "id_number": "公民身份号码",
    "id_tail": "身份号码尾号",
    "household": "户编号",
    "case": "案件编号",
    "name": "姓名",
    "address": "住址",
}
# The case documents by kind (cases/documents.py KINDS); a temporary-assistance approval prints as 临时救助决定书.
_DOCUMENTS = {
    "acceptance": "受理通知书",
    "missing": "一次性告知书",
    "not_accepted": "不予受理通知书",
    "approval": "批准通知书（决定书）",
    "refusal": "不予批准通知书",
}
_DETAIL_LIMIT = 160


@cache
def type_labels() -> dict[str, str]:
    """Every object type the platform writes, with its Chinese name (models name themselves: verbose_name)."""
    labels: dict[str, str] = {}
    for model in apps.get_models():
        for attribute in ("audit_type", "audit_run_type"):
            code = getattr(model, attribute, None)
            if isinstance(code, str) and code:
                labels.setdefault(code, str(model._meta.verbose_name))
    labels.update(EXTRA_TYPES)
    return labels


def type_label(code: str) -> str:
    return type_labels().get(code, code)


def type_choices() -> list[tuple[str, str]]:
    return sorted(type_labels().items(), key=lambda item: item[1])


def region_names(codes: set[str]) -> dict[str, str]:
    """Region code -> a name an auditor recognises (the township and village with their county)."""
    wanted = {c for c in codes if c}
    regions = {r.code: r for r in Region.objects.filter(code__in=wanted).select_related("parent")}
    names = {}
    for code, region in regions.items():
        parent = region.parent
        names[code] = f"{parent.name}{region.name}" if parent is not None and region.level >= 4 else region.name
    return names


def _value(key: str, value, regions: dict[str, str]) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if key == "action" and isinstance(value, str):
        return (
            ACTION_LABELS.get(value) or _OTHER_ACTIONS.get(value) or dict(AuditEntry.Action.choices).get(value, value)
        )
    if key == "object_type" and isinstance(value, str):
        return type_label(value)
    if key == "state" and isinstance(value, str):
        return wf.STATE_LABELS.get(value, value)
    if key == "finding" and isinstance(value, str):
        return dict(Visit.Finding.choices).get(value, value)
    if key == "outcome" and isinstance(value, str):
        return dict(Outcome.choices).get(value, value)
    if key == "page" and isinstance(value, str):
        return _PAGES.get(value, value)
    if key == "status" and isinstance(value, str):
        return _STATUSES.get(value, value)
    if key == "format" and isinstance(value, str):
        return _FORMATS.get(value, value)
    if key == "kind" and isinstance(value, str):
        return _SEARCH_KINDS.get(value, value)
    if key == "document" and isinstance(value, str):
        return _DOCUMENTS.get(value, value)
    if key == "reason" and isinstance(value, str):
        return DENIAL_REASONS.get(value, value)
    if key == "admin" and isinstance(value, str):
        return _admin_message(value)
    if key in ("region", "township", "target_region") and isinstance(value, str):
        return regions.get(value.ljust(12, "0"), value)
    if key == "categories" and isinstance(value, list):
        return "、".join(str(v) for v in value) or "—"
    if key == "changes" and isinstance(value, dict):
        return "、".join(str(k) for k in value) or "—"
    if key == "changes" and isinstance(value, list):  # a scenario's changes: `dibao.standard_urban=+8%`
        return "、".join(_parameter_change(str(v)) for v in value) or "—"
    if key == "layout" and isinstance(value, str):
        from minzheng.benefits.bankfiles import layouts

        found = layouts().get(value)
        return found.name if found is not None else value
    if isinstance(value, dict):
        return "；".join(
            f"{DETAIL_KEYS.get(k, k)} {_value(k, v, regions)}" for k, v in value.items() if v not in ("", None)
        )
    if isinstance(value, list):
        return "、".join(_value(key, v, regions) for v in value)
    if isinstance(value, str) and len(value) == 10 and value[4] == "-":
        try:
            return f"{datetime.date.fromisoformat(value):%Y-%m-%d}"
        except ValueError:
            return value
    return str(value)


def _admin_message(stored: str) -> str:
    """The admin's change message in Chinese (「修改（超级用户状态、角色）」): stored as Django keeps it, untranslated,
    e.g. `[{'changed': {'fields': ['Superuser status']}}]` — field labels capitalised, which its own catalogue
    (「superuser status」) does not find either."""
    try:
        message = ast.literal_eval(stored)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return stored
    if not isinstance(message, list):
        return stored
    parts = []
    for item in message:
        if not isinstance(item, dict):
            continue
        for verb, word in (("added", "新增"), ("changed", "修改"), ("deleted", "删除")):
            body = item.get(verb)
            if not isinstance(body, dict):
                continue
            what = [_field_label(f) for f in body.get("fields") or []]
            if body.get("name"):
                what = [f"{body['name']}“{body.get('object', '')}”"] + what
            parts.append(f"{word}{'（' + '、'.join(what) + '）' if what else ''}")
    return "；".join(parts) or "—"


def _field_label(name) -> str:
    name = str(name)
    for candidate in (name, name[:1].lower() + name[1:]):
        translated = gettext(candidate)
        if translated != candidate:
            return translated
    return name


def _parameter_change(text: str) -> str:
    from minzheng.policy.catalogue import specs

    key, sep, rest = text.partition("=")
    name, at, county = key.partition("@")
    found = specs().get(name)
    label = found.label if found is not None else name
    return f"{label}{'（' + county + '）' if at else ''}{sep}{rest}"


_KEY_ORDER = {key: i for i, key in enumerate(DETAIL_KEYS)}


def detail_pairs(detail: dict | None, regions: dict[str, str]) -> list[tuple[str, str]]:
    """The detail's pairs in one order on every database (PostgreSQL's jsonb does not keep the written order)."""
    items = sorted((detail or {}).items(), key=lambda item: (_KEY_ORDER.get(item[0], len(_KEY_ORDER)), item[0]))
    keys = DETAIL_KEYS | _DENIAL_KEYS if "target_region" in (detail or {}) else DETAIL_KEYS
    return [
        (keys.get(key, key), _value(key, value, regions)) for key, value in items if value not in (None, "", [], {})
    ]


def detail_text(detail: dict | None, regions: dict[str, str], limit: int | None = _DETAIL_LIMIT) -> str:
    text = "；".join(f"{label}：{value}" for label, value in detail_pairs(detail, regions))
    if limit is not None and len(text) > limit:
        return text[: limit - 1] + "…"
    return text


def region_codes_in(entries) -> set[str]:
    """The region codes an entry list mentions (its own and those inside its details), for one name lookup."""
    found: set[str] = set()
    for entry in entries:
        if entry.region_code:
            found.add(entry.region_code)
        detail = entry.detail or {}
        filters = detail.get("filters") if isinstance(detail.get("filters"), dict) else {}
        for source in (detail, filters):
            for key in ("region", "township", "target_region"):
                raw = source.get(key)
                if isinstance(raw, str) and raw.isdigit() and len(raw) <= 12:
                    found.add(raw.ljust(12, "0"))
    return found


def raw_json(detail: dict | None) -> str:
    return json.dumps(detail or {}, ensure_ascii=False, default=str)
