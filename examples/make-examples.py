#!/usr/bin/env python3
"""make-examples.py -- writes the example files of examples/ and README.md.

    python3 examples/make-examples.py [--check]

Writes customers.csv, app.log, chat-gb18030.txt (GB18030) and config.yaml
next to this script, with a fixed seed, and README.md listing what
`qinglang scan examples/` is expected to report in each (type and count,
computed from the generator's ground truth).  Every person, company,
number and key is fictitious and every "valid" identifier passes its
real check (the algorithms live in tests/eval/gen.py, which also audits
each file: nothing outside the ground truth may be reportable).  With
--check nothing is written; the script exits 1 if a file differs from
what it would write.

The script and README.md are written so that they hold nothing a scanner
should report (the few key names that would make a template look like an
assignment are assembled from pieces), so scanning the whole directory
reports exactly the findings listed in README.md.
"""

import argparse
import base64
import collections
import datetime
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True            # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(HERE, "..", "tests", "eval"))
import gen  # noqa: E402

SEED = "qinglang-examples-1"
PW = "pass" + "word"            # see the docstring
MM = "密" + "码"


class Writer(gen.Doc):
    """A document plus the look-alikes it holds, for README.md."""

    def __init__(self, rng):
        super().__init__()
        self.rng = rng
        self.lookalikes = collections.Counter()

    def t(self, template, **lit):
        """Render one template: {slot} from gen.SLOTS (entities and n_
        look-alikes), {name=...} literal values given as keywords."""
        for k, v in lit.items():
            template = template.replace("{%s}" % k, v)
        for m in gen.SLOT_RE.finditer(template):
            if m.group(1).startswith("n_"):
                self.lookalikes[m.group(1)] += 1
        self.tpl(self.rng, template)

    def line(self, template="", **lit):
        self.t(template, **lit)
        self.add("\n")

    def lit(self, kind, text):
        """A look-alike written as literal text (counted for README.md)."""
        self.lookalikes[kind] += 1
        return text

    def value(self, v, lookalike=None):
        if lookalike:
            self.lookalikes[lookalike] += 1
        self.add_v(v)


LOOKALIKE_TEXT = {
    "n_id_badcheck": "18-digit ID numbers with a wrong check digit",
    "n_id_baddate": "ID numbers with an impossible birth date (e.g. 0230)",
    "n_id_future": "ID numbers whose birth date is after the scan date",
    "n_card_luhn": "card numbers failing the Luhn check",
    "n_phone12": "12-digit phone-like numbers",
    "n_phone_badprefix": "11-digit numbers starting 10/11/12",
    "n_ts": "14-digit timestamps (yyyymmddhhmmss)",
    "n_order": "20-digit order numbers",
    "n_amount": "amounts",
    "n_amount_plain": "amounts",
    "n_uuid": "UUIDs",
    "n_sha1": "40-hex SHA-1 hashes",
    "n_sha256": "64-hex SHA-256 hashes",
    "n_md5": "32-hex MD5 hashes",
    "n_gitshort": "short git hashes",
    "n_version": "version strings",
    "n_chrome": "browser version strings (a.b.c.d with a part > 255)",
    "n_ip_256": "IPv4-like addresses with an octet > 255",
    "n_ip_lead0": "IPv4-like addresses with leading zeros",
    "n_dotted": "dotted runs of 5-6 numbers",
    "n_oid": "SNMP OIDs",
    "n_mac": "MAC addresses",
    "n_code6": "6-digit verification codes",
    "n_email_bad": "e-mail-like strings without a real domain",
    "n_jwt_bad": "dotted base64 that is not a JWT",
    "n_aws_bad": "AKIA strings with characters outside A-Z2-7",
    "n_hk_compact": "a valid compact HKID without any context (needs context)",
    "n_b64": "base64 image data",
    "n_imei": "IMEI numbers (15 digits, Luhn)",
    "n_phone_in_run": "phone numbers inside longer digit runs",
    "n_id_in_run": "ID numbers inside 19-20-digit runs",
    "n_pass_short": "a too-short value after a " + MM + " label",
}


# --------------------------------------------------------------------------

def when(rng):
    d = gen.rand_date(rng, 2024, 2025)
    return datetime.datetime.combine(d, datetime.time(rng.randint(8, 23), rng.randint(0, 59), rng.randint(0, 59)))


def price(rng):
    return "%d.%s" % (rng.choice([9, 19, 39, 59, 99, 129, 199, 299, 499, 899, 1299, 2199, 3599]),
                      rng.choice(["00", "00", "90", "50"]))


def customers(rng):
    w = Writer(rng)
    w.line("客户编号,姓名,手机号,身份证号,银行卡号,收货地址,邮箱,下单时间,订单号,金额")
    plan = {  # row -> the column that holds a look-alike instead of a value
        4: ("phone", "{n_phone12}"), 9: ("id", "{n_id_badcheck}"), 13: ("card", "{n_card_luhn}"),
        17: ("phone", "{n_phone_badprefix}"), 21: ("id", "{n_id_baddate}"), 26: ("card", "{n_card_luhn}"),
        30: ("id", "{n_id_future}"), 34: ("phone", "{n_phone12}"), 37: ("id", "{n_id_badcheck}"),
        39: ("card", "{n_card_luhn}"),
    }
    for row in range(1, 41):
        cols = {
            "phone": rng.choice(["{phone_plain}"] * 8 + ["{phone}"] * 2),
            "id": "{id18}",
            "card": rng.choice(["{card_plain}"] * 3 + ["{card}"]),
            "email": "{email}" if row % 9 else "",
        }
        if row in plan:
            cols[plan[row][0]] = plan[row][1]
        ts = when(rng).strftime("%Y%m%d%H%M%S")
        w.line("C%06d,{name_plain},%s,%s,%s,{address_prov},%s,{ts},{order},{amount}" % (
            100230 + row * 7, cols["phone"], cols["id"], cols["card"], cols["email"]),
            ts=w.lit("n_ts", ts), order=w.lit("n_order", ts + gen.rdigits(rng, 6)),
            amount=w.lit("n_amount", price(rng)))
    return w


def app_log(rng):
    w = Writer(rng)
    clock = gen.Clock(rng)
    clock.t = clock.t.replace(hour=9, minute=12)

    def ts():
        t = clock.tick(40)
        return t.strftime("%Y-%m-%d %H:%M:%S.") + "%03d" % (t.microsecond // 1000)

    def log(lvl, thread, logger, msg, **lit):
        w.line("%s %-5s [%s] %s - %s" % (ts(), lvl, thread, logger, msg), **lit)

    m, ex = "main", "http-nio-8080-exec-%d"
    ver = w.lit("n_version", gen.n_version(rng).text.lstrip("v"))

    def order():
        return w.lit("n_order", clock.t.strftime("%Y%m%d%H%M%S") + gen.rdigits(rng, 6))
    log("INFO", m, "c.q.order.Application", "Starting order-api {ver} on app-01 with PID 18231", ver=ver)
    log("INFO", m, "c.q.order.Application", "Running with Spring Boot v3.2.4, Java 17.0.10")
    log("INFO", m, "c.q.order.Application", "build {n_sha1} ({n_gitshort}) built by ci-runner-3")
    w.add("%s INFO  [%s] c.q.cfg.DataSourceConfig - datasource url=" % (ts(), m))
    w.value(mysql_url(rng))
    w.line("/orders?useSSL=false&serverTimezone=Asia/Shanghai")
    log("INFO", m, "c.q.cfg.RedisConfig", "redis endpoint {ipv4}:6379, database 0, timeout 2000ms")
    log("INFO", m, "c.q.aws.S3Config", "bucket=qinglang-orders region=cn-north-1 accessKeyId={aws_key_id}")
    log("INFO", m, "com.zaxxer.hikari.HikariDataSource", "HikariPool-1 - Start completed.")
    log("INFO", m, "c.q.mq.Consumer", "subscribed to topic order-events (group order-api, instance {n_uuid})")
    log("INFO", m, "o.s.b.w.embedded.tomcat.TomcatWebServer", "Tomcat started on port 8080 (http) with context path ''")
    log("INFO", m, "c.q.order.Application", "Started order-api in 6.214 seconds (process running for 6.9)")
    log("INFO", ex % 1, "c.q.api.AccessLog", "{ipv4} GET /actuator/health 200 3ms")
    log("INFO", ex % 2, "c.q.api.LoginController", "login ok user={email} ip={ipv4}")
    log("DEBUG", ex % 2, "c.q.http.RequestLogger", "Authorization: Bearer {jwt}")
    log("INFO", ex % 3, "c.q.api.AccessLog", "{ipv4} GET /api/v1/users?phone={phone_plain}&channel=app 200 41ms")
    log("INFO", ex % 3, "c.q.sms.SmsSender", "验证码 {n_code6} 已发送至 {phone}，有效期5分钟")
    log("WARN", ex % 4, "c.q.api.RateLimiter", "too many requests from {ipv4} (120 in 60s, limit 100)")
    log("INFO", ex % 5, "c.q.order.OrderService", "order {o} created, amount={a} CNY, trace {n_uuid}",
        o=order(), a=w.lit("n_amount", price(rng)))
    log("INFO", ex % 5, "c.q.order.OrderService", "用户 {email} 下单成功，订单号 {o}", o=order())
    log("WARN", ex % 5, "c.q.inventory.StockService", "库存不足 sku=QL-AP-2023 warehouse=WH-SH-01 requested=3 available=1")
    log("ERROR", ex % 6, "c.q.pay.PaymentService", "payment failed for order {o}, card {card_plain} declined (code 51)",
        o=order())
    w.line("java.lang.IllegalStateException: payment declined")
    w.line("\tat com.qinglang.pay.PaymentService.charge(PaymentService.java:{n_line})")
    w.line("\tat com.qinglang.order.OrderService.submit(OrderService.java:{n_line})")
    w.line("\tat com.qinglang.order.OrderController.create(OrderController.java:{n_line})")
    w.line("\tat java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)")
    w.line("\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:885)")
    w.line("\t... 48 common frames omitted")
    log("INFO", ex % 7, "c.q.api.AccessLog", "{ipv6} GET /api/v1/orders/{o} 200 18ms", o=order())
    log("INFO", "G1 Young RemSet Sampling", "gc", "GC pause (G1 Evacuation Pause) 512M->128M(2048M) 23.412ms")
    log("WARN", ex % 7, "c.q.kyc.RealNameService", "实名认证失败 id_card={n_id_badcheck} reason=CHECKSUM")
    log("INFO", ex % 8, "c.q.kyc.RealNameService", "实名认证通过 id_card={id18}")
    log("INFO", ex % 8, "c.q.cdn.Uploader", "uploaded invoice.pdf md5={n_md5} sha256={n_sha256}")
    log("DEBUG", ex % 9, "c.q.http.RequestLogger", "User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/{n_chrome} Safari/537.36")
    log("WARN", ex % 9, "c.q.cfg.Validator", "ignoring allow-list entry {n_ip_256}: not an IPv4 address")
    log("WARN", ex % 9, "c.q.cfg.Validator", "ignoring allow-list entry {n_ip_lead0}: leading zeros")
    log("INFO", "scheduling-1", "c.q.snmp.Poller", "polled {n_oid} on switch sw-02")
    log("INFO", "scheduling-1", "c.q.device.Registry", "device mac={n_mac} firmware {n_version} imei={n_imei}")
    log("INFO", ex % 10, "c.q.api.AccessLog", "{ipv4} GET /api/v1/products?page=2&size=20 200 12ms")
    log("INFO", ex % 10, "c.q.api.AccessLog", "{ipv4} POST /api/v1/address 201 25ms")
    log("INFO", ex % 10, "c.q.address.AddressService", "new shipping address for user 10086: {address_prov}")
    log("ERROR", ex % 11, "c.q.mail.Mailer", "cannot deliver to {bad}: no such domain", bad=w.lit("n_email_bad", "receipts@localhost"))
    log("WARN", ex % 11, "c.q.sec.LoginGuard", "5 failed logins for {email} from {ipv4}, account locked for 15 min")
    log("INFO", ex % 11, "c.q.mail.Mailer", "receipt sent to <{email}> in {n_ms}ms")
    log("ERROR", ex % 12, "app.worker", "task export_customers failed")
    w.line("Traceback (most recent call last):")
    w.line("  File \"/srv/worker/tasks.py\", line {n_line}, in export_customers")
    w.line("    rows = fetch_rows(batch_id)")
    w.line("  File \"/srv/worker/db.py\", line {n_line}, in fetch_rows")
    w.line("    raise TimeoutError(\"query timed out after 30s\")")
    w.line("TimeoutError: query timed out after 30s")
    log("INFO", ex % 12, "c.q.trace.Tracer", "span {n_uuid} finished in {n_ms}ms")
    log("WARN", "scheduling-2", "c.q.sec.SecretScanner", "found a GitHub token {github} in build log, revoking")
    log("INFO", ex % 13, "c.q.api.AccessLog", "{ipv4} GET /static/app.{n_gitshort}.js 304 1ms")
    log("DEBUG", ex % 14, "c.q.http.Forwarded", "X-Forwarded-For: {ipv4}, {ipv4}")
    log("INFO", ex % 14, "c.q.api.LoginController", "login ok user={email} ip={ipv4}")
    log("WARN", ex % 15, "c.q.api.AccessLog", "{ipv4} GET /api/v1/users?phone={n_phone_badprefix}&channel=h5 400 2ms")
    log("INFO", ex % 15, "c.q.express.Tracker", "waybill {n_phone_in_run} status=IN_TRANSIT")
    log("INFO", ex % 16, "c.q.order.OrderService", "refund of {a} CNY queued for order {o}",
        a=w.lit("n_amount", price(rng)), o=order())
    log("INFO", ex % 16, "c.q.order.OrderService", "收货地址已更新 user=10086 order={o}", o=order())
    log("INFO", "scheduling-1", "c.q.report.Daily", "daily report: 1342 orders, 17 refunds, p99 latency 412ms")
    log("INFO", "SpringApplicationShutdownHook", "c.q.order.Application", "shutting down order-api {ver}", ver=ver)
    return w


def mysql_url(rng):
    """A MySQL connection URL with user, password and an IPv4 host; the host
    may or may not be reported on its own (optional in the truth)."""
    ip = gen.make_ipv4(rng)
    head = "".join(["mysql", ":/", "/app:", gen.make_password(rng).rstrip("!#$%&*_"), "!@"])
    t = head + ip + ":3306"
    return gen.V(t, [(0, len(t), "url_with_credentials", False),
                     (len(head), len(head) + len(ip), "ipv4", True)])


def chat(rng):
    w = Writer(rng)
    clock = gen.Clock(rng)
    clock.t = clock.t.replace(hour=14, minute=2)
    w.line("青朗商城 在线客服会话记录")
    w.line("会话编号：{n_uuid}")
    w.line("渠道：官网在线客服    日期：%s" % clock.t.date().isoformat())
    w.line()

    def say(who, template, **lit):
        w.add("[%s] %s：" % (clock.tick(70).strftime("%H:%M:%S"), who))
        w.line(template, **lit)

    kf, gk = "客服小青", "顾客"
    say(kf, "您好，青朗商城在线客服小青为您服务，请问有什么可以帮您？")
    say(gk, "你好，我上周买的空气净化器一直没到，订单号 {o}",
        o=w.lit("n_order", (clock.t - datetime.timedelta(days=6)).strftime("%Y%m%d%H%M%S") + gen.rdigits(rng, 6)))
    say(kf, "好的，麻烦提供一下收货人信息，我帮您核实。")
    say(gk, "姓名：{name}")
    say(gk, "手机号 {phone_plain}")
    say(gk, "地址：{address_prov}")
    say(kf, "查到了，包裹在转运中心滞留了，非常抱歉😔 需要帮您改派吗？")
    say(gk, "改到我公司吧，地址：{address_any}，电话 {phone}")
    w.add("[%s] %s：" % (clock.tick(70).strftime("%H:%M:%S"), gk))
    w.add("公司前台的号码是 ")
    w.value(gen.E(gen.fullwidth("138" + gen.rdigits(rng, 8)), "cn_mobile_phone"))
    w.line("（手机上打的全角）")
    say(kf, "已改派，预计明天送达。另外本单实付 {a} 元，延误可以申请补偿。", a=w.lit("n_amount", "2199.00"))
    say(gk, "好的，怎么申请？")
    say(kf, "需要实名信息：请提供身份证号码和收款银行卡号。")
    say(gk, "身份证号 {id18}")
    say(gk, "上次我填成了 {n_id_badcheck}，好像校验不通过，以这次的为准")
    w.add("[%s] %s：" % (clock.tick(70).strftime("%H:%M:%S"), gk))
    w.add("卡号 ")
    w.value(gen.E(gen.group4(_card16(rng, "622588"), " "), "bank_card"))
    w.line(" 招商银行")
    say(gk, "另外我太太是香港人，她的香港身份证：{hkid}，她的单也一起补偿吗？")
    say(kf, "可以的，稍后会有专员联系您。温馨提示：请勿向任何人透露银行卡" + MM + "和验证码。")
    say(gk, "明白，刚才收到的验证码 {n_code6} 我没给别人")
    say(kf, "好的，补偿将在3个工作日内到账，请留意短信。还有其他问题吗？")
    say(gk, "没有了，谢谢👍")
    say(kf, "感谢您的耐心，祝您生活愉快！本次会话已结束。")
    return w


def _card16(rng, bin6):
    while True:
        d = gen.luhn_complete(bin6 + gen.rdigits(rng, 9))
        if not (gen.id18_valid(d) or gen.id15_valid(d)):
            return d


def config(rng):
    w = Writer(rng)
    w.line("# order-api configuration (staging)")
    w.line("# Every credential in this file is fictitious, made for the qinglang examples.")
    w.line()
    w.line("service:")
    w.line("  name: order-api")
    w.line("  version: {n_version}")
    w.line("  instance_id: {n_uuid}")
    w.line("  port: 8080")
    w.line()
    w.line("database:")
    w.line("  host: {ipv4}")
    w.line("  port: 5432")
    w.line("  user: order_app")
    w.line("  {pw}: \"{password}\"", pw=PW)
    w.line("  pool_size: 20")
    w.line()
    w.line("integrations:")
    w.add("  github_token: ")
    w.value(gen.E("ghp_" + gen.ralnum(rng, 36), "github_token"))
    w.line()
    w.line("  gitlab_token: {gitlab}")
    w.line("  slack_token: {slack}")
    w.line("  notify_email: {email}")
    w.line()
    w.line("cloud:")
    w.line("  alibaba_access_key_id: {alibaba}")
    w.line("  tencent_secret_id: {tencent}")
    w.line("  aws_access_key_id: {aws_key_id}")
    w.line("  aws_secret_access_key: {aws_secret}")
    w.line("  region: cn-north-1")
    w.line()
    w.line("tls:")
    w.add("  private_key: |\n    ")
    w.value(gen.E(gen.make_pem(rng, 25, "    ", "RSA " + "PRIVATE KEY"), "private_key"))
    w.line()
    w.line()
    w.line("assets:")
    w.line("  bundle_sha256: {n_sha256}")
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x40\x00\x00\x00\x40\x08\x06\x00\x00\x00"
    w.add("  logo: \"data:image/png;base64,")
    w.value(gen.V(base64.b64encode(png + bytes(rng.randrange(256) for _ in range(90))).decode()), "n_b64")
    w.line("\"")
    w.line("  cache_bust: {n_gitshort}")
    return w


# --------------------------------------------------------------------------

FILES = [
    ("customers.csv", customers, "utf-8",
     "a leaked customer export (UTF-8 CSV with a header line; names are in a column "
     "without a label, so they are not reported)"),
    ("app.log", app_log, "utf-8",
     "an application log: start-up, access lines, a stack trace and a Python traceback"),
    ("chat-gb18030.txt", chat, "gb18030",
     "a customer-service chat transcript, encoded in GB18030"),
    ("config.yaml", config, "utf-8", "a service configuration with credentials"),
]


def build():
    out = {}
    for name, fn, enc, what in FILES:
        for attempt in range(100):
            w = fn(random.Random("%s/%s/%d" % (SEED, name, attempt)))
            text = w.text
            if not gen.audit(text, w.ents):
                break
        else:
            raise SystemExit("make-examples.py: %s: %s" % (name, gen.audit(text, w.ents)))
        data = gen.encode(text, enc)
        if enc == "gb18030":
            try:
                data.decode("utf-8")
                raise SystemExit("make-examples.py: %s is valid UTF-8 as well" % name)
            except UnicodeDecodeError:
                pass
        rows = gen.truth_lines(text, w.ents, enc)
        out[name] = (data, rows, w.lookalikes, enc, what)
    out["README.md"] = (readme(out).encode("utf-8"), None, None, None, None)
    return out


def readme(out):
    L = ["# Examples", "",
         "Four files written for qinglang, so that `qinglang scan examples/` (or `make run`)",
         "shows something real.  Every person, company, number and key in them is",
         "fictitious; every identifier meant to be found passes its real check (GB 11643",
         "MOD 11-2, Luhn, GB 32100 / GB 11714, the HKID check, ...) and every look-alike",
         "fails one on purpose.  They are generated by `make-examples.py` (fixed seed,",
         "check algorithms and audit from `tests/eval/gen.py`); run",
         "`python3 examples/make-examples.py` to write them again, `--check` to verify",
         "that they are up to date.", "",
         "| file | what it is | encoding |", "| --- | --- | --- |"]
    for name, _, enc, what in FILES:
        L.append("| `%s` | %s | %s |" % (name, what, {"utf-8": "UTF-8", "gb18030": "GB18030"}[enc]))
    L += ["", "Beside them, `posts.txt` (written by hand, not generated, no personal data)",
          "holds forum and chat posts for `qinglang scan --moderate --lines` (docs/moderate.md):",
          "evasions (zero-width, full-width with leet, traditional, spaced initials), a",
          "co-occurrence, and the traps 体操, 早操, 打赌, 赌气.  `make run` moderates it."]
    L += ["", "## Expected findings", "",
          "Computed from the generator's ground truth; the spans follow",
          "[docs/types.md](../docs/types.md).  `make-examples.py` and this README hold",
          "nothing that should be reported, so scanning the directory gives exactly these.", ""]
    total = collections.Counter()
    for name, *_ in FILES:
        data, rows, looks, enc, _ = out[name]
        req = collections.Counter(r["type"] for r in rows if not r.get("optional"))
        opt = collections.Counter(r["type"] for r in rows if r.get("optional"))
        total.update(req)
        L += ["### `%s` (%d findings)" % (name, sum(req.values())), "", "| type | count |", "| --- | ---: |"]
        for t, n in sorted(req.items()):
            L.append("| `%s` | %d |" % (t, n))
        if opt:
            L += ["", "Also acceptable, not counted above: " + ", ".join(
                "%d `%s`" % (n, t) for t, n in sorted(opt.items())) +
                " inside the `url_with_credentials` (its host); docs/types.md does not say"
                " whether a value nested in another finding is reported on its own."]
        desc = collections.Counter()
        for k, n in looks.items():
            if k in LOOKALIKE_TEXT:
                desc[LOOKALIKE_TEXT[k]] += n
        if desc:
            L += ["", "Look-alikes that must not be reported: " +
                  "; ".join("%s (%d)" % (d, n) for d, n in sorted(desc.items())) + "."]
        L.append("")
    L += ["### All files (%d findings)" % sum(total.values()), "", "| type | count |", "| --- | ---: |"]
    for t, n in sorted(total.items()):
        L.append("| `%s` | %d |" % (t, n))
    L.append("")
    return "\n".join(L)


def main():
    ap = argparse.ArgumentParser(description="Write the qinglang example files.")
    ap.add_argument("--check", action="store_true", help="verify the files instead of writing them")
    a = ap.parse_args()
    out = build()
    stale = []
    for name, (data, *_rest) in out.items():
        path = os.path.join(HERE, name)
        if a.check:
            try:
                with open(path, "rb") as f:
                    if f.read() != data:
                        stale.append(name)
            except OSError:
                stale.append(name)
        else:
            with open(path, "wb") as f:
                f.write(data)
    for name in ("make-examples.py", "README.md"):
        path = os.path.join(HERE, name)
        text = out[name][0].decode() if name in out else open(path, encoding="utf-8").read()
        problems = gen.audit(text, [])
        if problems:
            print("make-examples.py: %s holds reportable text: %s" % (name, problems[:3]), file=sys.stderr)
            return 1
    if a.check:
        if stale:
            print("make-examples.py: out of date: " + ", ".join(stale), file=sys.stderr)
            return 1
        print("make-examples.py: examples are up to date")
    else:
        for name, (data, rows, *_r) in out.items():
            n = len([r for r in rows if not r.get("optional")]) if rows is not None else 0
            print("wrote %-18s %6d bytes%s" % (name, len(data), ", %d findings" % n if rows is not None else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
