#!/usr/bin/env python3
"""make_truth.py -- ground truth for the hand-written held-out documents.

    make_truth.py            write NAME.truth.jsonl for every NAME.txt listed in SPECS
    make_truth.py --check    only verify (no writing), exit 1 on any problem
    make_truth.py --audit    also list check-passing look-alikes that no truth line covers

The documents (NAME.txt) are written by hand; this script only turns the
annotations below into byte offsets, so nobody counts bytes by hand.

An annotation is R(type, pattern) (required) or O(type, pattern) (optional:
score.py neither requires it nor counts a finding on it as false; it is
written as a truth line with "optional": true, because score.py reads the
"optional" flag from NAME.truth.jsonl and ignores any other file).

  pattern   the text as it appears in the document, with
              "[[" and "]]" around the span when the pattern carries context
              (e.g. a label in front of a name); without them the whole
              pattern is the span;
              "¦" anywhere: removed before searching.  It is there so that
              this file holds no finding of its own: qinglang scans the whole
              directory and score.py counts findings in unknown files as
              false positives.
            or a pair (first, last): from the start of `first` through the
            end of the first `last` after it (multi-line PEM blocks).
  n=K       the pattern must occur exactly K times (default: at least once;
            every occurrence is annotated)
  glue=True accept a span that touches an ASCII or full-width letter/digit

Offsets are computed on the decoded text and mapped back to bytes of the
file as stored (BOM included for UTF-16), then cross-checked by encoding the
value and comparing it with the stored bytes.

Every required value of a checkable type is verified with the standard's own
check (GB 11643 MOD 11-2 with a real date not after the scan date, Luhn with
an issuer prefix from docs/types.md, GB 32100 + GB 11714, HKID mod 11, Taiwan
ID), so a truth line can never name an invalid value.
"""

import datetime
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TODAY = datetime.date(2026, 11, 25)
BRK = "\u00a6"

# --------------------------------------------------------------------------
# Check algorithms
# --------------------------------------------------------------------------
ID_W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
ID_C = "10X98765432"
PROVINCES = {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45,
             46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82}


def real_date(y, m, d):
    try:
        return datetime.date(y, m, d)
    except ValueError:
        return None


def cn_id_ok(s):
    s = s.upper()
    if len(s) == 15 and s.isdigit():
        d = real_date(1900 + int(s[6:8]), int(s[8:10]), int(s[10:12]))
        return int(s[:2]) in PROVINCES and d is not None
    if len(s) != 18 or not s[:17].isdigit():
        return False
    if int(s[:2]) not in PROVINCES:
        return False
    d = real_date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    if d is None or d > TODAY:
        return False
    return ID_C[sum(int(c) * w for c, w in zip(s[:17], ID_W)) % 11] == s[17]


def luhn_ok(d):
    t = 0
    for i, c in enumerate(reversed(d)):
        x = int(c)
        if i % 2:
            x = x * 2 - 9 if x > 4 else x * 2
        t += x
    return t % 10 == 0


def card_prefix_ok(d):
    n = len(d)
    if d.startswith(("34", "37")):
        return n == 15
    if not 16 <= n <= 19:
        return False
    return (d.startswith(("62", "4", "35", "6011", "65")) or 51 <= int(d[:2]) <= 55
            or 2221 <= int(d[:4]) <= 2720)


def card_ok(s):
    d = re.sub(r"[ \-]", "", s)
    return d.isdigit() and card_prefix_ok(d) and luhn_ok(d)


USCC_CS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_W = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
ORG_W = [3, 7, 9, 10, 5, 8, 4, 2]


def org_check(body8):
    r = 11 - sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(body8, ORG_W)) % 11
    return "X" if r == 10 else "0" if r == 11 else str(r)


def uscc_ok(s):
    if len(s) != 18 or any(c not in USCC_CS for c in s):
        return False
    c = USCC_CS[(31 - sum(USCC_CS.index(ch) * w for ch, w in zip(s[:17], USCC_W)) % 31) % 31]
    return c == s[17] and org_check(s[8:16]) == s[16]


def hk_ok(s):
    m = re.fullmatch(r"([A-Z]{1,2})(\d{6})\(?([0-9A])\)?", s)
    if not m:
        return False
    letters, digits, chk = m.groups()
    l = letters if len(letters) == 2 else " " + letters
    vals = [36 if c == " " else ord(c) - 55 for c in l] + [int(c) for c in digits]
    r = (11 - sum(v * w for v, w in zip(vals, [9, 8, 7, 6, 5, 4, 3, 2])) % 11) % 11
    return chk == ("A" if r == 10 else str(r))


TW = dict(A=10, B=11, C=12, D=13, E=14, F=15, G=16, H=17, I=34, J=18, K=19, L=20, M=21, N=22,
          O=35, P=23, Q=24, R=25, S=26, T=27, U=28, V=29, W=32, X=30, Y=31, Z=33)


def tw_ok(s):
    if not re.fullmatch(r"[A-Z][12]\d{8}", s):
        return False
    v = TW[s[0]]
    ds = [v // 10, v % 10] + [int(c) for c in s[1:]]
    return sum(d * w for d, w in zip(ds, [1, 9, 8, 7, 6, 5, 4, 3, 2, 1, 1])) % 10 == 0


def fold(s):
    """Full-width ASCII and the ideographic space to ASCII, one char for one."""
    out = []
    for ch in s:
        o = ord(ch)
        if 0xFF01 <= o <= 0xFF5E:
            out.append(chr(o - 0xFEE0))
        elif o == 0x3000:
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def validate(typ, value):
    """None when fine, else the reason the value cannot be a required truth."""
    v = fold(value)
    if typ == "cn_resident_id":
        return None if cn_id_ok(v) else "fails GB 11643"
    if typ == "bank_card":
        return None if card_ok(re.sub(r"\s", "", v)) else "fails Luhn/prefix"
    if typ == "cn_uscc":
        return None if uscc_ok(v) else "fails GB 32100/11714"
    if typ == "hk_id":
        return None if hk_ok(v) else "fails HKID check"
    if typ == "tw_id":
        return None if tw_ok(v) else "fails Taiwan ID check"
    if typ == "cn_mobile_phone":
        d = re.sub(r"^(\+86-?|0086|\(\+86\))\s?", "", v.strip())
        d = re.sub(r"[ \-.]", "", d)
        return None if re.fullmatch(r"1[3-9]\d{9}", d) else "not a mobile number"
    if typ == "ipv4":
        parts = v.split(".")
        ok = len(parts) == 4 and all(p.isdigit() and str(int(p)) == p and int(p) < 256 for p in parts)
        return None if ok else "not a dotted quad"
    if typ == "email":
        return None if re.fullmatch(r"[^@\s]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}", v) else "not an e-mail"
    if typ == "cn_passport":
        return None if re.fullmatch(r"E\d{8}|E[A-HJ-NP-Z]\d{7}|G\d{8}", v) else "bad passport form"
    if typ == "cn_hk_macau_permit":
        return None if re.fullmatch(r"C\d{8}|C[A-HJ-NP-Z]\d{7}", v) else "bad permit form"
    if typ == "cn_taiwan_permit":
        return None if re.fullmatch(r"L\d{8}", v) else "bad permit form"
    if typ == "cn_home_return_permit":
        return None if re.fullmatch(r"[HM]\d{8}(\d{2})?", v) else "bad permit form"
    if typ == "macau_id":
        return None if re.fullmatch(r"[157]\d{6}\(\d\)", v) else "bad Macau ID form"
    return None


# --------------------------------------------------------------------------
# Annotations
# --------------------------------------------------------------------------
def R(typ, pat, **kw):
    return dict(type=typ, pat=pat, optional=False, **kw)


def O(typ, pat, **kw):
    return dict(type=typ, pat=pat, optional=True, **kw)


SPECS = {}  # filled in by specs below

SPECS["01_wechat_rent.txt"] = [
    R("cn_resident_id", "3101041985¦0107616x"),
    R("cn_mobile_phone", "139 1862¦ 0457"),
    R("bank_card", "6217 0090¦ 8100 3390 759"),
    R("cn_mobile_phone", "1391862¦0451"),
    R("cn_address", "地址：[[深¦圳市福田区梅林路128号梅林一村12栋1单元803室]]"),
    R("password_assignment", "密¦码：[[chen8888¦home]]"),
]
SPECS["02_qq_group.txt"] = [
    R("email", "liuyang_cs2026¦@163.com"),
    R("cn_landline_phone", "0571-882¦73645"),
    R("cn_mobile_phone", "(+86)158¦67231094"),
    R("email", "913245678¦@qq.com"),
    R("cn_landline_phone", "(0571)869¦30217"),
    R("cn_mobile_phone", "0086 186 2734¦ 5190"),
]
SPECS["03_hotline_12345.txt"] = [
    R("cn_mobile_phone", "来电号码：[[1835710¦2264]]"),
    R("cn_landline_phone", "0571-879¦16630转806"),
    R("cn_address", "联系地址：[[浙¦江省杭州市西湖区文三路259号昌地火炬大厦1号楼1202室]]"),
    R("cn_uscc", "92330106621¦29972XT"),
    O("cn_landline_phone", "0571—851¦26630"),
    R("cn_resident_id", "3301061987¦02142326"),
    O("cn_resident_id", "330106 1954¦0923 0024"),
    R("cn_landline_phone", "0571 8702¦ 3316"),
]
SPECS["04_discharge_summary.txt"] = [
    R("person_name", "姓名：[[郑¦秀兰]]"),
    R("medical_record_no", "住院号：[[ZY2026¦0004417]]"),
    R("medical_record_no", "病历号：[[000382¦9146]]"),
    R("cn_resident_id", "3301021959¦06170469"),
    R("cn_mobile_phone", "136057¦18824"),
    R("person_name", "联系人：[[王¦丽]]"),
    R("medical_record_no", "门诊号：[[MZ26112¦10038]]"),
    R("cn_landline_phone", "0571-872¦36114"),
]
SPECS["05_waybill_sf.txt"] = [
    R("person_name", "寄件人：[[林¦志强]]"),
    R("cn_address", "寄件地址：[[福¦建省厦门市思明区鹭江道8号国际银行大厦21楼]]"),
    R("person_name", "收件人：[[黄¦晓燕]]"),
    R("cn_mobile_phone", "+86 159 8034¦ 2617"),
    R("cn_address", "收件地址：[[广¦东省广州市天河区天河路385号太古汇一座3206室]]"),
    R("cn_mobile_phone", "177502¦63381"),
]
SPECS["06_hr_onboarding.txt"] = [
    R("person_name", "姓名：[[欧阳¦娜娜]]"),
    R("cn_resident_id", "4301041996¦05120622"),
    R("cn_passport", "E7392¦0581"),
    R("cn_mobile_phone", "186-2734¦-5190"),
    R("email", "ouyang.nana96¦@gmail.com"),
    R("cn_address", "住址：[[上¦海市浦东新区张江路665号2号楼1102室]]"),
    R("cn_address", "地址：[[湖¦南省长沙市岳麓区麓山南路932号]]"),
    R("person_name", "联系人：[[欧阳¦建华]]"),
    R("cn_landline_phone", "0731-886¦51207"),
    R("cn_mobile_phone", "+86 139741¦08865"),
    R("cn_resident_id", "4301046103¦22031"),
    R("bank_card", "622848 78778¦93287924"),
    R("person_name", "持卡人：[[欧阳¦娜娜]]"),
]
SPECS["07_bank_statement.txt"] = [
    O("person_name", "户名：[[冯¦雪梅]]"),
    R("bank_card", "6222 0217¦ 4218 0967 925", n=1),
    R("bank_card", "6259 6574¦ 6814 5380"),
    R("bank_card", "4514-5061¦-2310-0775"),
    R("bank_card", "51409546¦11139302"),
    R("person_name", "持卡人：[[冯¦雪梅]]"),
]
SPECS["08_court_notice.txt"] = [
    R("cn_uscc", "91330106MA¦27Y4KL2D"),
    R("person_name", "联系人：[[吴¦敏]]"),
    R("cn_landline_phone", "0571-860¦15532"),
    R("cn_address", "地址：[[杭¦州市西湖区文二西路9号]]"),
]
SPECS["09_police_missing_person.txt"] = [
    R("cn_resident_id", "3301061954¦06020152"),
    R("cn_license_plate", "浙A·7D¦29K"),
    R("cn_license_plate", "浙AD73¦915"),
    R("person_name", "联系人：[[蒋¦伟]]"),
    R("cn_landline_phone", "0571-872¦80110"),
    R("cn_mobile_phone", "138580¦21190"),
    R("cn_mobile_phone", "138 5802¦ 1191"),
]
SPECS["10_ecommerce_orders.txt"] = [
    R("cn_mobile_phone", "137718¦29304"),
    R("cn_address", "江¦苏省苏州市工业园区星湖街328号创意产业园17栋501室"),
    O("person_name", "\"[[周¦静]]\""),
    O("person_name", "\"[[孔¦德明]]\""),
    O("person_name", "\"[[曹¦丽娟]]\""),
    O("person_name", "\"[[严¦伟]]\""),
    R("cn_mobile_phone", "137-7182¦-9305"),
    R("cn_address", "北¦京市海淀区中关村大街27号"),
    R("cn_mobile_phone", "+86159062¦13387"),
    R("cn_address", "上¦海市浦东新区世纪大道100号环球金融中心45楼"),
    R("cn_mobile_phone", "0086-[[150 2194¦ 8873]]"),
    R("cn_address", "四¦川省成都市武侯区天府大道北段1700号环球中心W6区1栋2单元", glue=True),
    R("cn_landline_phone", "028-852¦26913"),
    R("cn_mobile_phone", "138001¦38000"),
    R("cn_address", "广¦东省深圳市南山区粤海街道科技南十二路2号"),
]
SPECS["11_github_issue.txt"] = [
    O("ipv4", "1.2.3¦.5"),
    R("ipv4", "10.24.3¦.17", n=2),
    R("password_assignment", "pass¦word: [[Tr0ub4dor¦&3x]]"),
    R("ipv4", "10.24.3¦.21"),
    R("password_assignment", "pass¦word: \"[[r3dis-S3¦cret!]]\""),
    R("aws_access_key_id", "AKIAHBRP¦OIGF3CBFNOBM"),
    O("aws_secret_access_key", "DmWJ6UuVTAIjvFu7¦WICPhDeOZIiBOB+Y6sHrFH2Z"),
    R("password_assignment", "MYSQL_ROOT_PASS¦WORD=[[example¦123]]"),
    R("email", "li.wei¦@example-corp.cn"),
    R("email", "oss-triage¦@qinglang.dev"),
]
SPECS["12_nginx_access.txt"] = [
    R("ipv4", "203.0.113¦.45", n=2),
    R("cn_mobile_phone", "135128¦76604"),
    R("ipv4", "10.0.3¦.5"),
    R("ipv4", "100.64.1¦.9"),
    R("ipv6", "2408:8207:6c58:91e0:1d5a¦:3f7e:a2c1:9b40"),
    R("ipv4", "198.51.100¦.7", n=2),
    R("ipv6", "[[:¦:1]] - - [25/Nov/2026:08:14:10"),
    O("cn_mobile_phone", "%20[[139123¦45678]]", glue=True),
    R("ipv4", "127.0.0¦.1"),
    R("ipv6", "fe80:¦:1c2d:3eff:fe4a:5b6c"),
]
SPECS["13_java_app.log.txt"] = [
    R("cn_resident_id", "4403051991¦08090775", n=1),
    O("person_name", "\"name\":\"[[邓¦超然]]\""),
    R("cn_mobile_phone", "159062¦13387", n=2),
    R("bank_card", "62258879¦38347016", n=2),
    R("ipv4", "223.104.3¦.76"),
    R("ipv4", "36.112.23¦.5"),
    R("email", "deng.chaoran¦@foxmail.com"),
    O("email", "20261125091309.77412¦@mail.qinglang-shop.cn"),
]
SPECS["14_support_email_en.txt"] = [
    R("email", "d.whitaker¦@northwind-travel.co.uk"),
    R("email", "support¦@qinglang-air.com", n=2),
    R("email", "mei.lu¦@northwind-travel.co.uk"),
    O("email", "CAF4x7Yq+3mZ¦@mail.gmail.com"),
    R("cn_passport", "E5820¦4137"),
    R("cn_mobile_phone", "+86 139 1024¦ 7755"),
    R("bank_card", "4283 7832¦ 6616 6306"),
]
SPECS["15_taiwan_application.txt"] = [
    R("person_name", "姓名：[[林¦怡君]]"),
    R("tw_id", "F2281¦39468"),
    R("email", "yichun.lin0403¦@gmail.com"),
    O("cn_address", "地址：[[臺¦北市信義區松仁路100號12樓]]"),
    R("tw_id", "N1457¦03322"),
]
SPECS["16_hongkong_form.txt"] = [
    R("person_name", "姓名：[[陳¦大文]]"),
    R("hk_id", "K381294¦(4)"),
    O("cn_home_return_permit", "H12345¦67801"),
    R("email", "taiman.chan¦@netvigator.com"),
    R("cn_address", "住址：[[香¦港九龍旺角彌敦道688號旺角中心1期15樓B室]]"),
    R("person_name", "姓名：[[李¦美玲]]"),
    R("hk_id", "CA182361¦(1)"),
    R("macau_id", "5215093¦(6)"),
    O("person_name", "聯絡人：[[陳¦小明]]"),
    R("hk_id", "Z683145¦2"),
]
SPECS["17_fullwidth_vip_form.txt"] = [
    R("person_name", "姓名：[[蔡¦文静]]"),
    R("cn_resident_id", "３７０２０２１９８８０３¦１６０５８Ｘ"),
    R("cn_mobile_phone", "１８６－２２０３¦－７７４１"),
    R("cn_mobile_phone", "１３３　０５７１¦　２２８９"),
    R("cn_landline_phone", "（０２１）６４３８¦２２１０"),
    R("email", "ｃａｉｗｅｎｊｉｎｇ¦＠１６３．ｃｏｍ"),
    R("bank_card", "５３９５　５９７２¦　９７９２　６２２９"),
    R("cn_uscc", "９１３１０１１５ＭＡＵ７¦ＣＨ３Ｊ４Ｗ"),
    R("ipv4", "１１６．２２８．¦１１１．１８"),
]
SPECS["18_gb18030_family_chat.txt"] = [
    R("cn_resident_id", "1201011957¦04215977"),
    R("cn_landline_phone", "022-2835¦ 6620"),
    R("cn_mobile_phone", "138205¦67714", n=2),
    R("bank_card", "6214 8340¦ 1916 1463"),
    R("cn_address", "地址：[[天¦津市河西区友谊路35号华信大厦12楼]]"),
]
SPECS["19_gb18030_vat_invoice.txt"] = [
    R("cn_uscc", "91440300MA¦P6D85X2E"),
    R("cn_uscc", "91440106MA¦N518Y07L"),
    R("cn_landline_phone", "020-388¦60127"),
]
SPECS["20_gb18030_lease.txt"] = [
    R("cn_resident_id", "3101041965¦08200283"),
    R("cn_landline_phone", "021-648¦70231"),
    R("cn_mobile_phone", "136017¦85542"),
    R("cn_resident_id", "3201021993¦0411049x"),
    R("cn_mobile_phone", "177 1738¦ 2026"),
    R("cn_address", "上¦海市徐汇区漕溪北路595号3号楼1402室"),
    R("bank_card", "6236 9091¦ 1114 6569 778"),
]
SPECS["21_utf16_contacts.vcf.txt"] = [
    R("cn_mobile_phone", "+86 135 1287¦ 6604"),
    R("cn_landline_phone", "021-6437¦ 2210 ext 318"),
    R("email", "meimei.han¦@outlook.com"),
    R("cn_address", "上¦海市静安区南京西路1266号恒隆广场2座3105室"),
    R("cn_resident_id", "3101041974¦04051812"),
    R("cn_landline_phone", "0512-6523¦ 8871"),
    R("cn_mobile_phone", "+86-188-2130¦-4476"),
    R("email", "tom.li¦@example.org"),
]
SPECS["22_sms_inbox.txt"] = [
    R("bank_card", "6222 0217¦ 4218 0967 925"),
    R("cn_mobile_phone", "+86135166¦27809"),
    R("cn_mobile_phone", "153-1662¦-7810"),
    R("cn_mobile_phone", "旧号[[135166¦27809]]"),
    R("email", "1531662781¦@qq.com"),
    R("cn_mobile_phone", "198027¦13366"),
    R("cn_mobile_phone", "（[[177502¦63381]]）"),
    R("cn_mobile_phone", "+86176021¦18834"),
    R("cn_landline_phone", "021-5089¦ 6600"),
    R("cn_mobile_phone", "176 0211¦ 8834"),
    R("email", "kai.zhou¦@sh-hengda.com"),
]
SPECS["23_insurance_claim.txt"] = [
    R("cn_resident_id", "4201062012¦05030047"),
    R("person_name", "姓名：[[胡¦建军]]"),
    R("cn_resident_id", "4201061979¦09191173"),
    R("cn_mobile_phone", "(+86) 139-7102¦-5563"),
    R("email", "hujianjun79¦@126.com"),
    R("cn_address", "地址：[[湖¦北省武汉市武昌区中北路108号楚天都市花园C座1504室]]"),
    R("person_name", "患者[[胡¦欣怡]]"),
    R("medical_record_no", "就诊卡号：[[000881¦2036]]"),
    O("person_name", "户名：[[胡¦建军]]"),
    R("bank_card", "6217 0022¦ 8000 0199 315"),
]
SPECS["24_travel_agency_docs.txt"] = [
    R("cn_hk_macau_permit", "C2847¦1093"),
    R("cn_hk_macau_permit", "CM382¦0571"),
    R("cn_passport", "EJ482¦6107"),
    R("cn_taiwan_permit", "L6041¦8275"),
    R("cn_home_return_permit", "M05281¦63902"),
    R("cn_passport", "G3817¦2604"),
    R("person_name", "收件人：[[卢¦志刚]]"),
    R("cn_mobile_phone", "139571¦20846"),
    R("cn_landline_phone", "0571-867¦39021"),
]
SPECS["25_env_dump.txt"] = [
    R("ipv4", "172.20.8¦.14"),
    R("password_assignment", "DB_PASS¦WORD='[[Xq7#mV2p¦!9Lr]]'"),
    R("url_with_credentials", "postgres:¦//report:Rp0rt-2026¦@172.20¦.8.15:5432"),
    O("ipv4", "172.20.8¦.15"),
    O("url_with_credentials", "redis://:h7Gk2Pz9¦@172.20¦.8.16:6379"),
    O("ipv4", "172.20.8¦.16"),
    R("alibaba_access_key_id", "LTAIxBe8Q6vN¦uQ2hU5tGtQAu"),
    R("tencent_secret_id", "AKIDtzJ1atsnBYLMPu¦DCCRnGEY59YVkQfsGQ"),
    R("aws_access_key_id", "ASIA2O4RAK¦3VRJNVGFYG"),
    R("aws_secret_access_key", "UCr+lgotu2iXW7Gbo¦IRoL3u6aHwnMztVuaP/coUN"),
    R("github_token", "ghp_IiU74KKEpYEZAmggQ¦BwBAD3UdRPPgdzUvZ3g"),
    R("gitlab_token", "glpat-M6Ojb6mj¦BHqSiFVKu4Mb"),
    R("slack_token", "xox¦b-841241182449-3534874016400-vXiOqkVC¦JTBJahe84S5jIc1x"),
    R("email", "ops-oncall¦@shop.example.cn"),
    R("cn_mobile_phone", "+86-199-0171¦-2238"),
    O("email", "3a9f1c2e7b4d4e0fa1b2c3d4e5f60718¦@o450123.ingest.sentry.io"),
]
SPECS["26_k8s_secret.txt"] = [
    R("ipv4", "101.37.114¦.8"),
    R("ipv4", "47.96.220¦.131"),
    R("ipv6", "2408:4005:3ff¦:8200::1a"),
    R("password_assignment", "SIGN_CERT_PASS¦WORD: \"[[000¦000]]\""),
    R("password_assignment", "pw¦d: [[Kp9!x2Lm¦#Qa]]"),
    R("private_key", ("-----BEGIN EC PRIV¦ATE KEY-----", "-----END EC PRIV¦ATE KEY-----")),
    R("jwt", "eyJhbGciOiJSUzI1NiIsImtpZCI6ImstMjAyNi0xMSIsInR5cCI6IkpXVCJ9¦.eyJpc3MiOiJodHRwczovL3Nzby5leGFtcGxlLmNuIiwiYXVkIjoib3BzLWNvbnNvbGUiLCJzdWIiOiJ1Xzg4NDEyIiwiZXhwIjoxNzY0MjMwNDAwfQ¦.ouLa5FHz5oR-jfh6jOEnkniLq6MpRk12xE5tINTQqe7UH2nXxwrC9AO0mMfWcPlwi9_4Dsesz1TvQQ3JDSrbRQ"),
    R("email", "pay-alert¦@corp.example.com"),
]
SPECS["27_slack_dev_chat_en.txt"] = [
    R("gitlab_token", "glpat-Zx81_qLw¦-Pn4Rt6Ym0Ue"),
    R("github_token", "github_pat_z5dkyayq7YYDsBS9UYJQTFjmsn9dLVIdVudd¦LEG62Hkd9Gf2leMeR3pzh84KpLMcNfAQLKHu7qnQTupqzi"),
    R("ipv4", "10.42.7¦.19"),
    R("url_with_credentials", "postgres:¦//admin:St4ging!Pass¦@staging-db.internal.example.com:5432"),
    O("email", "St4ging!Pass¦@staging-db.internal.example.com"),
    R("email", "wang.xiaoyu+shop¦@gmail.com"),
    R("email", "wang.xiaoyu+shop¦@gmial.com"),
    R("cn_mobile_phone", "+86 166 2140¦ 9375"),
    R("password_assignment", "pw¦d=[[Test@¦1234]]"),
]
SPECS["28_school_enrollment.txt"] = [
    R("person_name", "姓名：[[沈¦子墨]]"),
    R("cn_resident_id", "3301062019¦0907031x"),
    R("cn_address", "地址：[[浙¦江省杭州市西湖区文一西路77号2幢3单元602室]]"),
    R("person_name", "姓名：[[沈¦浩]]"),
    R("cn_resident_id", "3301061986¦05210374"),
    R("cn_mobile_phone", "158 5711¦ 0962"),
    R("person_name", "姓名：[[许¦静怡]]"),
    R("cn_resident_id", "3301061988¦02150649"),
    R("cn_mobile_phone", "158571¦10963"),
    R("cn_landline_phone", "0571-880¦27163"),
    R("cn_resident_id", "3301062020¦02290060"),
    R("cn_resident_id", "3301062026¦11240026"),
]
SPECS["29_finance_reconciliation.txt"] = [
    R("bank_card", "4494 0326¦ 9910 2370"),
    R("bank_card", "3568 8159¦ 9418 5667"),
    R("bank_card", "6011-9290¦-0754-0093"),
    R("bank_card", "2720 1601¦ 1084 3643"),
    R("cn_mobile_phone", "139-1234¦-5670"),
]
SPECS["30_logistics_tsv_paste.txt"] = [
    R("cn_mobile_phone", "139670¦16628"),
    R("cn_mobile_phone", "151021¦57740"),
    R("cn_mobile_phone", "186 0531¦ 7726"),
    R("cn_mobile_phone", "133053¦18847"),
    R("cn_landline_phone", "0531-861¦12093"),
    R("cn_mobile_phone", "199516¦27730"),
    R("cn_mobile_phone", "139166¦37420"),
    R("cn_mobile_phone", "139 6701¦ 6628"),
    O("person_name", "\t[[潘¦宇航]]\t"),
    O("cn_address", "浙¦江省 宁波市 鄞州区\t首南街道天童南路588号宁波环球航运中心B座1908室"),
    O("cn_address", "山¦东省 济南市 历下区\t经十路10567号"),
    O("cn_address", "山¦东省 济南市 高新区\t舜华路2000号舜泰广场8号楼1单元"),
    O("cn_address", "江¦苏省 南京市 鼓楼区\t中山北路30号"),
    O("cn_address", "上¦海市 杨浦区\t邯郸路220号复旦大学光华楼东主楼", glue=True),
]
SPECS["31_it_asset_inventory.txt"] = [
    R("ipv4", "192.168.31¦.107"),
    R("ipv4", "192.168.31¦.108"),
    R("ipv4", "192.168.31¦.52"),
    R("ipv4", "[[192.168.31¦.1]]   "),
    R("ipv4", "10.8.0¦.7"),
    R("ipv4", "10.8.0¦.107"),
    R("ipv6", "2001:da8:8000¦:6023::7"),
    R("ipv4", "10.8.0¦.8"),
    R("ipv4", "203.0.113¦.200"),
    R("ipv4", "203.0.113¦.201"),
    R("email", "qi.feng¦@rd.example.cn"),
]
SPECS["32_train_tickets_12306.txt"] = [
    R("cn_resident_id", "3502031992¦03140558"),
    R("cn_passport", "E1234¦5678"),
    R("person_name", "联系人：[[许¦志明]]"),
    R("cn_mobile_phone", "136 6592¦ 0418"),
]
SPECS["33_hotel_checkin.txt"] = [
    R("cn_resident_id", "4401061985¦01150130"),
    R("cn_mobile_phone", "137104¦56632"),
    R("cn_license_plate", "粤A·3C¦8K2", n=2),
    R("cn_resident_id", "5101071990¦01010886"),
    R("cn_mobile_phone", "183 2014¦ 5527"),
    R("hk_id", "P270418¦(1)"),
    O("cn_license_plate", "粤Z·H77¦21港"),
    R("cn_home_return_permit", "H6013¦8422"),
    R("tw_id", "Q2093¦18447"),
    R("cn_hk_macau_permit", "CK938¦1627"),
    R("cn_mobile_phone", "138022¦80911"),
    R("cn_license_plate", "粤B·DF¦2208", n=2),
    R("cn_mobile_phone", "139 2287¦ 6610"),
    R("cn_license_plate", "粤A88¦888"),
    R("bank_card", "6259 6574¦ 6814 5380"),
    R("email", "peter.wong¦@wongtrading.com.hk"),
    R("cn_license_plate", "粤AD12¦345"),
    R("cn_landline_phone", "020-861¦28888"),
]
SPECS["34_lab_report.txt"] = [
    R("person_name", "姓名：[[程¦明远]]"),
    R("medical_record_no", "门诊号：[[2026112¦400318]]"),
    O("medical_record_no", "就诊卡号：[[JZK-0088¦421776]]"),
    R("medical_record_no", "病历号:[[MRN007¦36519]]"),
    R("cn_landline_phone", "0571-8551¦ 2230"),
    O("cn_mobile_phone", "SN [[139123¦45678]]A", glue=True),
    R("cn_mobile_phone", "191-5713¦-2286"),
]
SPECS["35_odd_separators.txt"] = [
    R("cn_mobile_phone", "139.5710¦.2837"),
    R("cn_mobile_phone", "＋８６ １５０ ５７１３¦ ９９０２"),
    O("cn_landline_phone", "+86 (0)571 8720¦ 6611 转 2203"),
    O("cn_landline_phone", "0086-21-6288¦ 5566"),
    O("cn_landline_phone", "+86 21 6288¦ 5567"),
    O("cn_mobile_phone", "1 3 9 5 7 1¦ 2 4 4 3 0"),
    O("cn_mobile_phone", "185 \u2011 5713¦ \u2011 6634"),
    R("cn_mobile_phone", "１８９　５７１０¦　３３７１"),
    R("cn_landline_phone", "(0571)8697¦ 4432-806"),
    R("cn_resident_id", "3301061987021423¦2６"),
    O("cn_mobile_phone", "13858 021¦ 190"),
    R("bank_card", "6225-8879¦-3834-7016"),
    R("bank_card", "6225 8879¦ 3834 7016"),
    O("cn_landline_phone", "0571—872¦80110"),
    R("cn_mobile_phone", "138　5802¦　1191"),
]
SPECS["36_crm_export_en.txt"] = [
    O("ipv4", "3.2.1¦.4"),
    R("email", "grace¦@huangpartners.com.cn"),
    R("cn_mobile_phone", "+86 138 0157¦ 2290"),
    R("email", "oliver.tan¦@tanlogistics.sg"),
    R("email", "chenjing¦@szmaker.cn"),
    R("cn_landline_phone", "0755-2698¦ 1133"),
    R("ipv4", "58.251.66¦.17"),
    R("email", "ravi.k¦@kumar-exports.co.in"),
    R("email", "wuhao1990¦@163.com"),
    R("cn_mobile_phone", "(+86)189256¦37781"),
    R("email", "na.li¦@huayu-bj.com"),
    R("cn_landline_phone", "010 8286¦ 7721"),
    O("bank_card", "3769 748212¦ 37890"),
    R("email", "sunwei¦@suntech.com.cn"),
    R("cn_mobile_phone", "+86 136718¦29045"),
    R("cn_passport", "E7912¦0485"),
    R("email", "malin.88¦@qq.com"),
    O("cn_mobile_phone", "86138166¦30927"),
]
SPECS["37_loan_application.txt"] = [
    R("person_name", "姓名：[[万¦俊杰]]"),
    R("cn_resident_id", "5101071986¦07042052"),
    R("cn_mobile_phone", "+86 181-0821¦-6637"),
    R("email", "wanjunjie86¦@hotmail.com"),
    R("cn_address", "地址：[[四¦川省成都市武侯区人民南路四段19号威斯顿联邦大厦2栋1803室]]"),
    R("cn_uscc", "9151010024¦53832306"),
    R("cn_landline_phone", "028-8519¦ 6620"),
    R("person_name", "联系人：[[宋¦婷]]"),
    R("cn_mobile_phone", "137 0813¦ 5528"),
    R("person_name", "联系人：[[万¦俊峰]]"),
    R("cn_mobile_phone", "139081¦76609"),
    R("person_name", "持卡人：[[万¦俊杰]]"),
    R("bank_card", "6217 1003¦ 3076 6619 344"),
    R("ipv4", "171.214.36¦.9"),
]
SPECS["38_wechat_pay_bill.txt"] = [
    R("cn_mobile_phone", "159671¦80334"),
    R("cn_mobile_phone", "137582¦14406", n=1),
]
SPECS["39_credit_publicity.txt"] = [
    R("cn_uscc", "91320594MA¦9TKJ0K42"),
    R("cn_uscc", "12100000MA¦U06Q6Y1R"),
    R("cn_uscc", "524201066¦40562247Y"),
    R("cn_uscc", "933713265¦608656944"),
    R("cn_uscc", "913502007¦02931379C"),
    O("cn_uscc", "913502007¦02931379c"),
    R("cn_uscc", "51110000MA¦BWG8QE5X"),
    R("cn_uscc", "91500000MA¦PQRBU981"),
    R("cn_uscc", "911101055¦14547521F"),
    R("person_name", "联系人：[[俞¦晓峰]]"),
    R("cn_landline_phone", "010-5733¦ 9181"),
    R("email", "yu.xiaofeng¦@legal.example.com.cn"),
]
SPECS["40_ops_runbook.md.txt"] = [
    R("ipv4", "52.83.117¦.204"),
    R("ipv6", "240e:3b7:3272:e560¦:5c6b:8b0e:e1a2:4f3d"),
    R("ipv4", "10.60.1¦.11", n=3),
    O("password_assignment", "-p'[[Dba#2026¦Nov!]]'"),
    R("ipv4", " [[10.60.1¦.12]] /"),
    R("ipv4", "instance [[10.60.1¦.12]]:3306"),
    O("ipv4", "Adm1n@[[10.60.1¦.12]]:3306"),
    O("url_with_credentials", "clusteradmin:Cl0ud!Adm1n¦@10.60.1¦.12:3306"),
    R("ipv4", "10.60.1¦.13"),
    R("password_assignment", "密¦码：[[Ap0llo_ops¦_2026]]"),
    R("cn_mobile_phone", "186 1029¦ 4417"),
    R("cn_landline_phone", "010-8457¦ 3320-6012"),
    R("email", "dba-team¦@example.cn"),
]
SPECS["41_sql_dump.txt"] = [
    R("ipv4", "10.20.4¦.8"),
    R("cn_resident_id", "3201021978¦01300420"),
    R("cn_mobile_phone", "137706¦51184"),
    R("email", "shuwanqing¦@126.com"),
    R("bank_card", "47818804917¦03179744"),
    R("ipv4", "117.136.12¦.45"),
    O("ipv4", "6.2.0¦.1"),
    R("cn_resident_id", "4403051995¦0708003X"),
    R("cn_mobile_phone", "+86186204¦58831"),
    R("email", "tony95¦@outlook.com"),
    R("bank_card", "22234393¦32836797"),
    R("cn_resident_id", "4403051995¦0708003x"),
    R("cn_mobile_phone", "186204¦58832"),
    R("email", "yan.xd¦@qq.com"),
    R("bank_card", "6011 9290¦ 0754 0093"),
    O("password_assignment", "pass¦word: [[同手机¦后六位]]"),
    O("password_assignment", "'root','[[Adm!n#¦2026]]'"),
]
SPECS["42_xianyu_secondhand_chat.txt"] = [
    R("cn_address", "地址：[[陕¦西省西安市雁塔区科技路48号创业广场B座2304室]]"),
    R("person_name", "收件人：[[姚¦佳琪]]"),
    R("cn_mobile_phone", "151298¦46613"),
    R("cn_resident_id", "6101131993¦1225028X"),
]
SPECS["43_incident_report_en.txt"] = [
    R("ipv4", "185.220.101¦.47"),
    R("aws_access_key_id", "AKIAWWQC5H¦YFSXMECOSF"),
    R("ipv6", "2a0b:f4c2:2¦::1f"),
    R("ipv4", "45.153.160¦.140"),
    R("cn_mobile_phone", "+86 135 2107¦ 8846"),
    R("cn_resident_id", "3301061987¦02142326"),
    R("cn_mobile_phone", "138580¦21190"),
    R("email", "siyuan.wang¦@example.cn"),
    R("jwt", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9¦.eyJzdWIiOiIxMDAyMzg4MTciLCJuYW1lIjoiemhvdS5qaW5nIiwiaWF0IjoxNzY0MDU3NjAwLCJleHAiOjE3NjQxNDQwMDAsInJvbGVzIjpbInVzZXIiXX0¦.qy94nnNlSwwXffMl6dRjxP3MfEsCNtlwWu0Zfz7pRO0"),
    R("aws_secret_access_key", "EhEkk/iqq8vH2BzNZV45¦pFCiRcDCajhDieQjEJ/B"),
    R("email", "dpo¦@example.cn"),
    O("cn_landline_phone", "+86 21 5258¦ 1100"),
]
SPECS["44_weibo_complaint.txt"] = [
    O("cn_landline_phone", "0571—853¦30000"),
    R("person_name", "收件人：[[温¦德海]]"),
    R("cn_mobile_phone", "136058¦11370"),
    R("cn_address", "地址：[[浙¦江省湖州市吴兴区凤凰路1188号凤凰家园7幢2单元401室]]"),
    R("cn_mobile_phone", "178552¦61019"),
]


# --------------------------------------------------------------------------
# Machinery
# --------------------------------------------------------------------------
def load(path):
    b = open(path, "rb").read()
    if b[:2] == b"\xff\xfe":
        return b, "utf-16-le", 2
    try:
        b.decode("utf-8")
        return b, "utf-8", 0
    except UnicodeDecodeError:
        return b, "gb18030", 0


def byte_map(text, enc, base):
    """offs[i] = byte offset of character i; offs[len] = end."""
    offs = [0] * (len(text) + 1)
    pos = base
    for i, ch in enumerate(text):
        offs[i] = pos
        pos += len(ch.encode(enc))
    offs[len(text)] = pos
    return offs


def alnum(ch):
    return ch is not None and fold(ch).isascii() and fold(ch).isalnum()


def locate(text, spec):
    pat = spec["pat"]
    if isinstance(pat, tuple):
        first, last = (p.replace(BRK, "") for p in pat)
        out, i = [], 0
        while True:
            s = text.find(first, i)
            if s < 0:
                return out
            e = text.find(last, s + len(first))
            if e < 0:
                return out
            out.append((s, e + len(last)))
            i = e + len(last)
    p = pat.replace(BRK, "")
    if "[[" in p:
        pre, rest = p.split("[[", 1)
        mid, post = rest.split("]]", 1)
    else:
        pre, mid, post = "", p, ""
    full = pre + mid + post
    out, i = [], 0
    while True:
        k = text.find(full, i)
        if k < 0:
            return out
        out.append((k + len(pre), k + len(pre) + len(mid)))
        i = k + 1


def build(name, specs, problems):
    path = os.path.join(HERE, name)
    b, enc, base = load(path)
    text = b[base:].decode(enc)
    offs = byte_map(text, enc, base)
    assert offs[-1] == len(b), (name, offs[-1], len(b))
    rows = []
    for sp in specs:
        spans = locate(text, sp)
        if not spans:
            problems.append("%s: %s %r not found" % (name, sp["type"], sp["pat"]))
            continue
        if "n" in sp and len(spans) != sp["n"]:
            problems.append("%s: %s %r found %d times, expected %d" % (name, sp["type"], sp["pat"], len(spans), sp["n"]))
        for s, e in spans:
            before = text[s - 1] if s > 0 else None
            after = text[e] if e < len(text) else None
            if not sp.get("glue") and (alnum(before) or alnum(after)):
                problems.append("%s: %s %r at char %d touches %r/%r" % (name, sp["type"], text[s:e], s, before, after))
            val = text[s:e]
            if not sp["optional"]:
                why = validate(sp["type"], val)
                if why:
                    problems.append("%s: required %s %r %s" % (name, sp["type"], val, why))
            bs, be = offs[s], offs[e]
            if b[bs:be] != val.encode(enc):
                problems.append("%s: byte cross-check failed for %r" % (name, val))
            row = {"type": sp["type"], "start": bs, "end": be}
            if sp["optional"]:
                row["optional"] = True
            rows.append(row)
    rows.sort(key=lambda r: (r["start"], r["end"], r["type"]))
    seen = set()
    for r in rows:
        k = (r["type"], r["start"], r["end"])
        if k in seen:
            problems.append("%s: duplicate truth %r" % (name, k))
        seen.add(k)
    return rows, text, offs


# --------------------------------------------------------------------------
# Audit: check-passing values that no truth line covers (for review by eye)
# --------------------------------------------------------------------------
AUDIT = [
    ("cn_resident_id", r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])", lambda v: cn_id_ok(v)),
    ("cn_mobile_phone", r"(?<![0-9])1[3-9]\d[ \-.]?\d{4}[ \-.]?\d{4}(?![0-9])", lambda v: True),
    ("bank_card", r"(?<![0-9])\d{4}(?:[ \-]?\d{2,6}){2,5}(?![0-9])",
     lambda v: card_ok(re.sub(r"[ \-]", "", v)) and v == v.strip()),
    ("cn_uscc", r"(?<![0-9A-Z])[0-9A-Z]{18}(?![0-9A-Z])", lambda v: uscc_ok(v)),
    ("hk_id", r"(?<![A-Z])[A-Z]{1,2}\d{6}\([0-9A]\)", lambda v: hk_ok(v)),
    ("tw_id", r"(?<![A-Za-z0-9])[A-Z][12]\d{8}(?![0-9])", lambda v: tw_ok(v)),
    ("email", r"[A-Za-z0-9._%+\-!#$&'*/=?^`{|}~]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}", lambda v: True),
    ("ipv4", r"(?<![0-9.])\d{1,3}(?:\.\d{1,3}){3}(?![0-9.])", lambda v: validate("ipv4", v) is None),
]


def audit(name, text, offs, rows):
    ft = fold(text)
    out = []
    for typ, rx, ok in AUDIT:
        for m in re.finditer(rx, ft):
            v = m.group(0)
            if not ok(v):
                continue
            bs, be = offs[m.start()], offs[m.end()]
            if any(r["type"] == typ and r["start"] < be and bs < r["end"] for r in rows):
                continue
            line = ft.count("\n", 0, m.start()) + 1
            out.append("%s:%d: unannotated %s candidate %r" % (name, line, typ, text[m.start():m.end()]))
    return out


def main(argv):
    check = "--check" in argv
    problems, notes = [], []
    for name in sorted(SPECS):
        rows, text, offs = build(name, SPECS[name], problems)
        if "--audit" in argv:
            notes.extend(audit(name, text, offs, rows))
        if not check:
            with open(os.path.join(HERE, name[:-4] + ".truth.jsonl"), "w", encoding="utf-8") as f:
                for r in rows:
                    f.write(json.dumps(r, ensure_ascii=False) + "\n")
        req = sum(1 for r in rows if not r.get("optional"))
        print("%-36s %3d required %3d optional" % (name, req, len(rows) - req))
    missing = sorted(set(n for n in os.listdir(HERE) if n.endswith(".txt")) - set(SPECS))
    for n in missing:
        problems.append("%s has no SPECS entry" % n)
    for n in notes:
        print("audit: " + n)
    for p in problems:
        print("PROBLEM: " + p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
