"""Who the demo's people are: surnames and given names by sex and generation, phone prefixes, banks with their card
BINs (the account number's Luhn check digit), drawn from fixed-size pools (one getrandbits() and one index per draw)."""

import re
from collections.abc import Iterable

# --- Names, phones, banks -------------------------------------------------------------------------------------

# Common surnames weighted for Hebei (7th census and the 2020 public-security name report, rounded, per mille).
SURNAMES = (
    "王90 李85 张88 刘65 赵35 杨32 陈25 郭22 高22 孙20 马18 田15 贾14 武13 吴13 周13 徐12 朱11 胡11 闫11 韩11 "
    "宋10 曹10 冯9 董9 许8 任8 史8 郝8 崔8 梁7 黄7 何7 于7 魏7 苏6 吕6 侯6 白6 薛5 姚5 牛5 康5 谢5 范5 乔5 石5 "
    "邢4 安4 杜4 常4 温4 秦4 邓4 袁4 彭4 程4 郑4 姜4 孟4 丁4 林3 罗3 唐3 蔡3 付3 沈3 贺3 尹3 段3 雷3 卢3 霍3 "
    "樊3 陶2 毛2 邵2 钱2 严2 龚2 方2 江2 庞2 申2 翟2 岳2 齐2 尚2 焦2 路2 耿2 冀2 聂2 葛2 柴2 欧阳1 司马1"
)

# Given names by birth cohort and sex: whole two-character names, first × second characters combined, and
# single-character names with the cohort's share of them.
GIVEN = {
    ("old", True): (
        "建国 国华 国强 志强 振华 德明 德胜 福来 福生 长生 金山 玉山 宝山 文华 占山 广才 永福 永贵 有才 有福 树林 "
        "树森 殿臣 凤山 连生 满仓 来顺 春生 玉成 万福",
        "德 福 永 长 金 玉 宝 广 树 文 占 振 国 庆 富 贵 殿 连",
        "山 林 明 生 才 福 贵 华 祥 海 发 成 堂 田 义 全 仓 奎",
        "明 德 福 贵 林 山 海 忠 义 仁 富 全 成 荣 顺 旺 喜",
        0.22,
    ),
    ("old", False): (
        "秀英 桂英 秀兰 玉兰 桂兰 桂芝 淑珍 凤英 玉珍 秀珍 玉英 淑兰 桂荣 凤兰 秀荣 玉梅 桂珍 素芬 翠花 金花 兰英 "
        "淑英 秀云 凤芝 玉华 桂香 素珍 秀芝 银花 润梅",
        "秀 桂 玉 淑 凤 素 翠 金 兰 银 润 秋",
        "英 兰 珍 芝 荣 梅 芬 花 云 香 华 琴",
        "兰 英 珍 芳 秀 梅 凤 霞 娥 莲 菊 桂 琴 花 荣 香 云 玉",
        0.18,
    ),
    ("mid", True): (
        "建军 建华 建平 国庆 志刚 志勇 海涛 海军 立新 卫东 红军 晓东 文斌 俊杰 永强 建伟 春生 宏伟 振宇 少华 "
        "利民 向阳 东升 立国 小军 海波 建新 国栋 永刚 志军",
        "建 志 海 立 卫 晓 文 俊 永 宏 振 少 利 向 东 国 春 小",
        "军 华 平 刚 勇 涛 新 东 斌 杰 强 伟 生 宇 民 阳 升 波",
        "伟 勇 军 磊 涛 斌 强 鹏 杰 刚 平 辉 超 亮 峰 波 华 明 龙 飞 东 林 健 宇 鑫 新 海 洋 凯 锋",
        0.30,
    ),
    ("mid", False): (
        "丽娟 海燕 艳红 丽华 红梅 晓燕 秀梅 丽萍 春燕 玉红 雪梅 晓红 彩霞 美玲 翠萍 艳玲 淑芳 金凤 建英 冬梅 "
        "海霞 晓丽 慧敏 丽丽 小红 艳霞 春梅 秀芳 晓梅 丽霞",
        "丽 海 艳 红 晓 秀 春 玉 雪 彩 美 翠 淑 金 冬 慧 小",
        "娟 燕 红 华 梅 萍 霞 玲 芳 凤 英 丽 敏 艳 琴 娜",
        "丽 静 敏 燕 艳 娟 霞 红 芳 萍 玲 娜 梅 莉 琳 洁 慧 英 琴 云 华 颖 雪 波 宁 凤",
        0.30,
    ),
    ("new", True): (
        "浩然 子轩 宇航 一鸣 浩宇 俊熙 子豪 博文 宇轩 皓轩 梓豪 明轩 晨阳 天佑 子墨 家豪 文博 嘉乐 思源 铭泽 "
        "鹏飞 志远 俊豪 佳豪 泽宇 一帆 奕辰 宇辰 浩轩 梓睿",
        "浩 子 宇 俊 博 皓 梓 明 晨 天 家 文 嘉 思 铭 泽 奕 一",
        "然 轩 航 宇 熙 豪 文 睿 阳 佑 墨 博 乐 源 泽 辰 鸣 凡",
        "浩 宇 鑫 凯 晨 磊 帅 博 昊 阳 旭 睿",
        0.08,
    ),
    ("new", False): (
        "梓涵 欣怡 雨萱 诗涵 佳怡 子涵 可馨 雨桐 一诺 思琪 梦瑶 佳琪 紫萱 欣妍 语桐 若汐 诗琪 雅琪 晓雪 婷婷 "
        "佳慧 梦琪 心怡 雨欣 静怡 嘉怡 思雨 梓萱 欣然 雅涵",
        "梓 欣 雨 诗 佳 子 可 思 梦 紫 语 若 雅 晓 心 静 嘉 一",
        "涵 怡 萱 桐 琪 瑶 妍 汐 雪 慧 欣 馨 彤 然 诺 雯",
        "婷 悦 琪 萌 瑶 雪 欣 佳 颖 洁",
        0.08,
    ),
}
POOL_BITS = 12
POOL_SIZE = 1 << POOL_BITS  # weighted tables are expanded to a fixed size: one getrandbits() and one index per draw

# Mobile number segments of the three operators (all match ^1[3-9]\d{9}$).
PHONE_PREFIXES = [
    str(n)
    for n in (
        *range(130, 140),
        145,
        147,
        *range(150, 154),
        *range(155, 160),
        166,
        173,
        *range(175, 179),
        *range(180, 190),
        191,
        193,
        195,
        198,
        199,
    )
]

# (bank, BIN of its debit cards, weight in rural areas, weight in towns)
BANKS = (
    ("中国农业银行", "622848", 35, 20),
    ("中国邮政储蓄银行", "621799", 30, 15),
    ("农村信用社", "622858", 25, 5),
    ("中国工商银行", "622202", 4, 22),
    ("中国建设银行", "621700", 4, 22),
    ("中国银行", "621661", 2, 16),
)
BANK_ACCOUNT_SHARE = 0.10


def expand(weighted: Iterable[tuple[object, float]], size: int = POOL_SIZE) -> list:
    """A list of `size` items where each item appears in proportion to its weight (largest remainders)."""
    items = list(weighted)
    total = sum(w for _, w in items)
    exact = [(w * size / total) for _, w in items]
    counts = [int(e) for e in exact]
    order = sorted(range(len(items)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in order[: size - sum(counts)]:
        counts[i] += 1
    return [item for (item, _), n in zip(items, counts, strict=True) for _ in range(n)]


def surname_pool() -> list[str]:
    return expand((m[1], int(m[2])) for m in re.finditer(r"(\D+?)(\d+)", SURNAMES.replace(" ", "")))


def given_pool(whole: str, first: str, second: str, single: str, single_share: float) -> list[str]:
    pairs = [a + b for a in first.split() for b in second.split() if a != b]
    two = [(n, 3.0) for n in whole.split()] + [(n, 1.0) for n in pairs]
    two_total = sum(w for _, w in two)
    singles = single.split()
    one_weight = two_total * single_share / (1 - single_share) / len(singles)
    return expand(two + [(n, one_weight) for n in singles])
