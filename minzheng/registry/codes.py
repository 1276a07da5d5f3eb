"""National code tables used by the registry."""

from django.db import models


class Relationship(models.TextChoices):
    """家庭关系代码 GB/T 4761-2008 (relationship of a member to the head of household)."""

    SELF = "01", "本人"
    HEAD = "02", "户主"
    SPOUSE = "10", "配偶"
    HUSBAND = "11", "夫"
    WIFE = "12", "妻"
    SON = "20", "子"
    ONLY_SON = "21", "独生子"
    ELDEST_SON = "22", "长子"
    SECOND_SON = "23", "次子"
    THIRD_SON = "24", "三子"
    FOURTH_SON = "25", "四子"
    FIFTH_SON = "26", "五子"
    ADOPTED_SON = "27", "养子或继子"
    SON_IN_LAW = "28", "女婿"
    OTHER_SON = "29", "其他儿子"
    DAUGHTER = "30", "女"
    ONLY_DAUGHTER = "31", "独生女"
    ELDEST_DAUGHTER = "32", "长女"
    SECOND_DAUGHTER = "33", "次女"
    THIRD_DAUGHTER = "34", "三女"
    FOURTH_DAUGHTER = "35", "四女"
    FIFTH_DAUGHTER = "36", "五女"
    ADOPTED_DAUGHTER = "37", "养女或继女"
    DAUGHTER_IN_LAW = "38", "儿媳"
    OTHER_DAUGHTER = "39", "其他女儿"
    GRANDCHILD = "40", "孙子、孙女或外孙子、外孙女"
    GRANDSON = "41", "孙子"
    GRANDDAUGHTER = "42", "孙女"
    DAUGHTERS_SON = "43", "外孙子"
    DAUGHTERS_DAUGHTER = "44", "外孙女"
    GRANDSON_WIFE = "45", "孙媳妇或外孙媳妇"
    GRANDDAUGHTER_HUSBAND = "46", "孙女婿或外孙女婿"
    GREAT_GRANDSON = "47", "曾孙子或外曾孙子"
    GREAT_GRANDDAUGHTER = "48", "曾孙女或外曾孙女"
    OTHER_GRANDCHILD = "49", "其他孙子、孙女或外孙子、外孙女"
    PARENT = "50", "父母"
    FATHER = "51", "父亲"
    MOTHER = "52", "母亲"
    FATHER_IN_LAW_H = "53", "公公"
    MOTHER_IN_LAW_H = "54", "婆婆"
    FATHER_IN_LAW_W = "55", "岳父"
    MOTHER_IN_LAW_W = "56", "岳母"
    STEPFATHER = "57", "继父或养父"
    STEPMOTHER = "58", "继母或养母"
    OTHER_PARENT = "59", "其他父母关系"
    GRANDPARENT = "60", "祖父母或外祖父母"
    GRANDFATHER = "61", "祖父"
    GRANDMOTHER = "62", "祖母"
    MATERNAL_GRANDFATHER = "63", "外祖父"
    MATERNAL_GRANDMOTHER = "64", "外祖母"
    SPOUSE_GRANDPARENT = "65", "配偶的祖父母或外祖父母"
    GREAT_GRANDFATHER = "66", "曾祖父"
    GREAT_GRANDMOTHER = "67", "曾祖母"
    SPOUSE_GREAT_GRANDPARENT = "68", "配偶的曾祖父母或外曾祖父母"
    OTHER_GRANDPARENT = "69", "其他祖父母或外祖父母关系"
    SIBLING = "70", "兄弟姐妹"
    ELDER_BROTHER = "71", "兄"
    ELDER_BROTHER_WIFE = "72", "嫂"
    YOUNGER_BROTHER = "73", "弟"
    YOUNGER_BROTHER_WIFE = "74", "弟媳"
    ELDER_SISTER = "75", "姐姐"
    ELDER_SISTER_HUSBAND = "76", "姐夫"
    YOUNGER_SISTER = "77", "妹妹"
    YOUNGER_SISTER_HUSBAND = "78", "妹夫"
    OTHER_SIBLING = "79", "其他兄弟姐妹"
    OTHER = "80", "其他"
    UNCLE_ELDER = "81", "伯父"
    AUNT_ELDER = "82", "伯母"
    UNCLE_YOUNGER = "83", "叔父"
    AUNT_YOUNGER = "84", "婶母"
    MATERNAL_UNCLE = "85", "舅父"
    MATERNAL_UNCLE_WIFE = "86", "舅母"
    MATERNAL_AUNT_HUSBAND = "87", "姨父"
    MATERNAL_AUNT = "88", "姨母"
    PATERNAL_AUNT_HUSBAND = "89", "姑父"
    PATERNAL_AUNT = "90", "姑母"
    PATERNAL_COUSIN = "91", "堂兄弟、堂姐妹"
    MATERNAL_COUSIN = "92", "表兄弟、表姐妹"
    NEPHEW = "93", "侄子"
    NIECE = "94", "侄女"
    SISTERS_SON = "95", "外甥"
    SISTERS_DAUGHTER = "96", "外甥女"
    OTHER_RELATIVE = "97", "其他亲属"
    NON_RELATIVE = "99", "非亲属"


# Codes that name the spouse of the head (GB/T 4761: 10–12).
SPOUSE_CODES = {Relationship.SPOUSE, Relationship.HUSBAND, Relationship.WIFE}


class Sex(models.TextChoices):
    MALE = "M", "男"
    FEMALE = "F", "女"


class DisabilityCategory(models.TextChoices):
    """残疾类别 GB/T 26341-2010."""

    VISUAL = "visual", "视力残疾"
    HEARING = "hearing", "听力残疾"
    SPEECH = "speech", "言语残疾"
    PHYSICAL = "physical", "肢体残疾"
    INTELLECTUAL = "intellectual", "智力残疾"
    MENTAL = "mental", "精神残疾"
    MULTIPLE = "multiple", "多重残疾"


class DisabilityGrade(models.IntegerChoices):
    """残疾等级 GB/T 26341-2010: 一级 is the most severe."""

    ONE = 1, "一级"
    TWO = 2, "二级"
    THREE = 3, "三级"
    FOUR = 4, "四级"


class SelfCare(models.TextChoices):
    """生活自理能力 (特困人员认定办法; DOMAIN.md §2: six items, ≤3 not achieved = partial, ≥4 = full loss)."""

    SELF = "self", "具备生活自理能力"
    PARTIAL = "partial", "部分丧失生活自理能力"
    FULL = "full", "完全丧失生活自理能力"


class AreaType(models.TextChoices):
    URBAN = "urban", "城镇"
    RURAL = "rural", "农村"


class OrganisationType(models.TextChoices):
    ELDERLY_CARE = "elderly_care", "养老机构"
    CHILD_WELFARE = "child_welfare", "儿童福利机构"
    RELIEF_STATION = "relief_station", "救助管理机构"
    SOCIAL_ORG = "social_org", "社会组织"
    SOCIAL_WORK = "social_work", "社会工作服务机构"
    GOVERNMENT = "government", "机关事业单位"
    ENTERPRISE = "enterprise", "企业"
    OTHER = "other", "其他"
