"""The words the demo's departmental data is made of: fictitious employers in the style of 张家口's firms, banks and
online platforms, shop names, plate prefixes and the disability certificate's category digit."""

# Employers withholding wage tax (fictitious names in the style of the region's firms), banks, business names.
EMPLOYERS_FORMAL = [
    "张家口宏达建筑工程有限公司",
    "张家口恒信商贸有限公司",
    "宣化鑫源机械制造有限公司",
    "张北县风电运维服务有限公司",
    "张家口市第三中学",
    "张家口市中心医院",
    "张家口冀北物流有限公司",
    "怀来县葡萄酒业有限公司",
    "崇礼区冰雪旅游服务有限公司",
    "张家口市城市供热有限公司",
    "张家口银行股份有限公司",
    "张家口市公共交通有限公司",
    "蔚县剪纸文化传媒有限公司",
    "万全区玉米种业有限公司",
]
EMPLOYERS_INFORMAL = [
    "张北县兴旺建筑劳务队",
    "康保县农民专业合作社",
    "尚义县马铃薯种植合作社",
    "沽源县奶牛养殖场",
    "张家口市家政服务中心",
    "怀安县运输服务部",
    "阳原县毛皮加工厂",
    "赤城县温泉度假村",
]
BANKS = [
    "中国农业银行",
    "中国邮政储蓄银行",
    "张家口农村商业银行",
    "中国工商银行",
    "中国建设银行",
    "中国银行",
    "张家口银行",
]
ONLINE = ["支付宝（余额宝）", "微信支付（零钱通）", "京东金融"]
SHOP_WORDS = ["宏福", "鑫源", "兴旺", "永盛", "顺达", "金穗", "恒泰", "福来", "德顺", "丰收"]
SHOP_KINDS = ["便利店", "饭店", "养殖场", "汽车修理部", "超市", "种植专业合作社", "建材店", "理发店"]
PROVINCE_ABBR = {
    "11": "京", "12": "津", "13": "冀", "14": "晋", "15": "蒙", "21": "辽", "22": "吉", "23": "黑", "31": "沪",
    "32": "苏", "33": "浙", "34": "皖", "35": "闽", "36": "赣", "37": "鲁", "41": "豫", "42": "鄂", "43": "湘",
    "44": "粤", "45": "桂", "46": "琼", "50": "渝", "51": "川", "52": "贵", "53": "云", "54": "藏", "61": "陕",
    "62": "甘", "63": "青", "64": "宁", "65": "新",
}  # fmt: skip
DISABILITY_DIGIT = {
    "visual": 1,
    "hearing": 2,
    "speech": 3,
    "physical": 4,
    "intellectual": 5,
    "mental": 6,
    "multiple": 7,
}
