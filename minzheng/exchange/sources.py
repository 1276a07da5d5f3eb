"""The departmental data sources the checking engine reads (DOMAIN.md §5), each with a declared schema.

A source's rows are joined to people by the identity number in `id_number`; at import the number is resolved once to
the registry's integer person key, so the engine joins on integers (issue 4 §4). The declared field kinds drive the
row validation of every import path (file or API) and the column types of the Parquet snapshot.
"""

from dataclasses import dataclass, field

from minzheng.registry.codes import DisabilityCategory

# Field kinds and the Parquet/DuckDB type each is stored as.
KIND_TYPES = {
    "id_number": "VARCHAR",
    "text": "VARCHAR",
    "code": "VARCHAR",
    "date": "DATE",
    "month": "DATE",  # first day of the month; accepts 2026-05, 202605 and 2026-05-01
    "money": "DECIMAL(18,2)",
    "int": "INTEGER",
}


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str
    required: bool = True
    choices: dict[str, str] = field(default_factory=dict)  # for kind="code": code -> Chinese label

    @property
    def sql_type(self) -> str:
        return KIND_TYPES[self.kind]


@dataclass(frozen=True)
class Source:
    code: str
    name: str
    department: str
    category: str  # authorisation category (授权核对的数据类别)
    fields: tuple[Field, ...]
    description: str = ""

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)


ID = Field("id_number", "公民身份号码", "id_number")

# Authorisation categories (授权核对书 lists the kinds of information the family agrees may be queried).
CATEGORIES = {
    "household_registration": "户籍及死亡信息",
    "social_insurance": "社会保险及养老金",
    "income_tax": "工资及纳税",
    "real_estate": "不动产",
    "vehicle": "车辆",
    "business": "市场主体登记",
    "housing_fund": "住房公积金",
    "financial": "存款、理财、证券等金融资产",
    "medical": "医疗费用",
    "disability": "残疾人证",
    "education": "教育缴费",
    "transfer": "优抚、奖励及其他转移性收入",
}

SOURCES: dict[str, Source] = {
    s.code: s
    for s in (
        Source(
            "pension",
            "社保/养老金",
            "人力资源和社会保障局",
            "social_insurance",
            (
                ID,
                Field(
                    "item",
                    "待遇项目",
                    "code",
                    choices={
                        "employee_pension": "城镇职工基本养老金",
                        "resident_basic": "城乡居民基础养老金（中央确定的基础部分）",
                        "resident_personal": "城乡居民养老保险个人账户养老金",
                        "unemployment": "失业保险金",
                        "work_injury": "工伤保险定期待遇",
                        "survivor": "遗属待遇",
                    },
                ),
                Field("monthly_amount", "月领取金额", "money"),
                Field("start_month", "起领年月", "month", required=False),
            ),
        ),
        Source(
            "wage",
            "工资/纳税",
            "税务局",
            "income_tax",
            (
                ID,
                Field("month", "所属期", "month"),
                Field("employer", "扣缴单位", "text", required=False),
                Field("gross_wage", "工资薪金收入", "money"),
                Field("tax_paid", "已缴个人所得税", "money", required=False),
                Field("social_contribution", "个人缴纳社会保险费", "money", required=False),
            ),
        ),
        Source(
            "real_estate",
            "不动产",
            "自然资源和规划局（不动产登记中心）",
            "real_estate",
            (
                ID,
                Field("certificate_no", "不动产权证号", "text"),
                Field(
                    "usage",
                    "用途",
                    "code",
                    choices={"residential": "住宅", "commercial": "商业服务", "industrial": "工业", "other": "其他"},
                ),
                Field("area", "建筑面积（平方米）", "money"),
                Field("monthly_rent", "月租金收入", "money", required=False),
            ),
        ),
        Source(
            "vehicle",
            "车辆",
            "公安局交通管理部门",
            "vehicle",
            (
                ID,
                Field("plate_no", "号牌号码", "text"),
                Field(
                    "vehicle_type",
                    "车辆类型",
                    "code",
                    choices={
                        "car": "小型汽车",
                        "truck": "货车",
                        "motorcycle": "摩托车",
                        "farm": "农用车/三轮汽车",
                        "disabled": "残疾人专用车",
                    },
                ),
                Field("value", "评估价值", "money"),
                Field("registered_on", "初次登记日期", "date", required=False),
            ),
        ),
        Source(
            "business",
            "市场主体登记",
            "市场监督管理局",
            "business",
            (
                ID,
                Field("uscc", "统一社会信用代码", "text"),
                Field("name", "市场主体名称", "text"),
                Field("role", "身份", "code", choices={"legal_rep": "法定代表人/经营者", "investor": "投资人"}),
                Field("status", "登记状态", "code", choices={"active": "存续", "cancelled": "注销/吊销"}),
                Field("monthly_net_income", "月经营净收入", "money", required=False),
            ),
        ),
        Source(
            "housing_fund",
            "住房公积金",
            "住房公积金管理中心",
            "housing_fund",
            (
                ID,
                Field("deposit_base", "缴存基数（月）", "money"),
                Field("balance", "账户余额", "money"),
                Field("status", "账户状态", "code", choices={"normal": "正常缴存", "sealed": "封存"}),
            ),
        ),
        Source(
            "finance",
            "银行存款/理财/证券",
            "金融机构（经人民银行等部门）",
            "financial",
            (
                ID,
                Field("institution", "金融机构", "text"),
                Field(
                    "product",
                    "资产类型",
                    "code",
                    choices={
                        "deposit": "存款",
                        "wealth": "理财产品",
                        "securities": "证券",
                        "fund": "基金",
                        "insurance": "商业保险（现金价值）",
                        "online": "网络金融资产",
                    },
                ),
                Field("balance", "余额/市值", "money"),
                Field("annual_income", "年利息/分红收益", "money", required=False),
            ),
        ),
        Source(
            "medical",
            "医疗费用",
            "医疗保障局",
            "medical",
            (
                ID,
                Field("settled_on", "结算日期", "date"),
                Field("total_cost", "医疗总费用", "money"),
                Field("fund_paid", "医保基金支付", "money"),
                Field("out_of_pocket", "个人自付", "money"),
            ),
            "每次交付应包含近12个月（刚性支出计算期）的全部结算记录：核对与监测均以最新一次交付为准。",
        ),
        Source(
            "disability",
            "残疾人证",
            "残疾人联合会",
            "disability",
            (
                ID,
                Field("certificate_no", "残疾人证号", "text"),
                Field("category", "残疾类别", "code", choices=dict(DisabilityCategory.choices)),
                Field("grade", "残疾等级", "code", choices={"1": "一级", "2": "二级", "3": "三级", "4": "四级"}),
                Field("issued_on", "发证日期", "date"),
            ),
        ),
        Source(
            "civil_status",
            "死亡/户籍变动",
            "公安局（户籍）、民政局（殡葬）",
            "household_registration",
            (
                ID,
                Field(
                    "event",
                    "变动事项",
                    "code",
                    choices={
                        "death": "死亡",
                        "move_out": "户口迁出",
                        "imprisoned": "服刑",
                        "drug_rehab": "强制隔离戒毒",
                        "missing": "宣告失踪",
                    },
                ),
                Field("event_on", "变动日期", "date"),
            ),
        ),
        Source(
            "education",
            "教育缴费",
            "教育局",
            "education",
            (
                ID,
                Field(
                    "stage",
                    "学段",
                    "code",
                    choices={
                        "kindergarten": "学前教育",
                        "primary": "小学",
                        "junior": "初中",
                        "senior": "高中/中职",
                        "college": "专科/本科",
                    },
                ),
                Field("paid_on", "缴费日期", "date"),
                Field("fee", "学杂费、住宿费等", "money"),
            ),
        ),
        Source(
            "transfer",
            "优抚、奖励及转移性收入",
            "退役军人事务局、卫生健康委、教育局、民政局等",
            "transfer",
            (
                ID,
                Field(
                    "item",
                    "收入项目",
                    "code",
                    choices={
                        "youfu": "优抚对象抚恤补助",
                        "family_planning": "计划生育奖励与扶助金",
                        "scholarship": "奖学金、助学金",
                        "heroism": "见义勇为奖励",
                        "assistance": "政府救助金",
                        "elderly_allowance": "高龄津贴",
                        "support_received": "赡养、抚养、扶养费（收到）",
                        "support_paid": "赡养、抚养、扶养费（支付）",
                        "compensation": "赔偿收入",
                        "gift": "赠送收入",
                    },
                ),
                Field("monthly_amount", "月均金额", "money"),
            ),
        ),
    )
}


# Signal feeds for low-income monitoring (DOMAIN.md §4, JC): departments' events, not read by the checking engine.
# They are imported, validated and stored exactly like the checking sources; the monitoring sweep reads them together
# with the three checking sources that also carry signals (medical costs, disability certificates, deaths).
SIGNAL = "signal"
SIGNAL_FEEDS: dict[str, Source] = {
    s.code: s
    for s in (
        Source(
            "employment",
            "就业失业登记",
            "人力资源和社会保障局",
            SIGNAL,
            (
                ID,
                Field(
                    "status",
                    "登记事项",
                    "code",
                    choices={"unemployed": "失业登记", "employed": "就业登记", "ended": "注销失业登记"},
                ),
                Field("registered_on", "登记日期", "date"),
                Field("employer", "就业单位", "text", required=False),
            ),
        ),
        Source(
            "student",
            "学生资助与控辍保学",
            "教育局",
            SIGNAL,
            (
                ID,
                Field("status", "事项", "code", choices={"aid": "认定为家庭经济困难学生", "dropout": "辍学、失学"}),
                Field(
                    "stage",
                    "学段",
                    "code",
                    choices={
                        "kindergarten": "学前教育",
                        "primary": "小学",
                        "junior": "初中",
                        "senior": "高中/中职",
                        "college": "专科/本科",
                    },
                ),
                Field("event_on", "认定/发生日期", "date"),
                Field("school", "学校", "text", required=False),
            ),
        ),
        Source(
            "disaster",
            "自然灾害受灾家庭",
            "应急管理局",
            SIGNAL,
            (
                ID,
                Field(
                    "disaster",
                    "灾害种类",
                    "code",
                    choices={
                        "flood": "洪涝",
                        "drought": "干旱",
                        "earthquake": "地震",
                        "hail": "风雹",
                        "snow": "低温雨雪冰冻",
                        "fire": "火灾",
                        "geological": "地质灾害",
                        "other": "其他",
                    },
                ),
                Field("occurred_on", "受灾日期", "date"),
                Field("loss", "直接经济损失", "money"),
                Field(
                    "house_damage",
                    "住房损毁",
                    "code",
                    required=False,
                    choices={"none": "无", "damaged": "损坏", "collapsed": "倒塌"},
                ),
            ),
        ),
        Source(
            "anti_poverty",
            "防止返贫监测对象",
            "乡村振兴局（农业农村局）",
            SIGNAL,
            (
                ID,
                Field(
                    "status",
                    "监测变动",
                    "code",
                    choices={"identified": "纳入监测", "eliminated": "风险消除"},
                ),
                Field(
                    "risk",
                    "主要风险",
                    "code",
                    choices={
                        "illness": "因病",
                        "disability": "因残",
                        "education": "因学",
                        "accident": "因意外事故",
                        "industry": "因产业失败",
                        "employment": "因务工就业不稳",
                        "disaster": "因自然灾害",
                        "other": "其他",
                    },
                ),
                Field("event_on", "变动日期", "date"),
            ),
        ),
    )
}

# The checking sources that also carry monitoring signals.
SIGNALLING_SOURCES = ("medical", "disability", "civil_status")
# Every importable source: what the import command, page and API accept.
ALL_SOURCES: dict[str, Source] = {**SOURCES, **SIGNAL_FEEDS}
MONITORING_FEEDS = (*SIGNALLING_SOURCES, *SIGNAL_FEEDS)


KIND_IBIS = {
    "id_number": "string",
    "text": "string",
    "code": "string",
    "date": "date",
    "month": "date",
    "money": "decimal(18,2)",
    "int": "int32",
}


def source_schema(code: str) -> dict[str, str]:
    """The columns of a snapshot the rules may read. Free text (employers, institutions, certificate and plate
    numbers) is for people reading a record, never an input to a rule, so no engine is given it."""
    schema = {"snapshot_id": "int64", "row_no": "int32", "person_key": "int64"}
    for f in ALL_SOURCES[code].fields:
        if f.kind != "text":
            schema[f.name] = KIND_IBIS[f.kind]
    return schema


def file_schema(code: str) -> dict[str, str]:
    """Every column of a snapshot file as the importer writes it, free text included (what a reader that must be
    told a file's schema, Spark, is told)."""
    return {"snapshot_id": "int64", "row_no": "int32", "person_key": "int64"} | {
        f.name: KIND_IBIS[f.kind] for f in ALL_SOURCES[code].fields
    }


def get(code: str) -> Source:
    from minzheng.core.errors import NotFound

    try:
        return ALL_SOURCES[code]
    except KeyError:
        raise NotFound(f"未知的数据来源：{code}（可用：{'、'.join(ALL_SOURCES)}）", "unknown_source") from None
