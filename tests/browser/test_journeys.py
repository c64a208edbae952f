"""Journeys through the console in a real browser, against the real running services: a call
becomes a task on the department's workbench, the clerk signs and replies, the citizen rates the
reply on a phone without JavaScript, the leaders' figures move; and the refusals."""

from __future__ import annotations

import asyncio
import time
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import asyncpg

from services.runtime.auth import Role, issue_token
from tests.browser.conftest import TASK_URL, reload_until, screenshot, sign_in_as
from tests.conftest import AUTH_SECRET

NOISE = "小区楼下烧烤店每晚噪音扰民到凌晨两点"


def test_a_call_is_worked_from_the_desk_to_the_citizens_evaluation(new_page):
    marker = uuid.uuid4().hex[:8]

    # The city's leaders look at the month before anything happens.
    leader = new_page()
    sign_in_as(leader, "city")
    leader.goto("/leaders")
    evaluated_before = int(leader.locator("#kpi-evaluated").inner_text())

    # The operator takes the call: the five elements and the matter.
    operator = new_page()
    sign_in_as(operator, "operator")
    assert operator.url.endswith("/operator")
    operator.fill("#name", "张三")
    operator.fill("#phone", "13812345678")
    # The address box suggests registry units as the operator types (the page's one script).
    operator.locator("#place").press_sequentially("月河社区")
    operator.locator('#units option[value="330502001016"]').wait_for(state="attached")
    assert "月河社区居委会" in operator.inner_html("#units")
    operator.fill("#place", "330502001016")
    operator.fill("#matter_code", "ENV-NOISE-LIFE")
    operator.fill("#content", f"{NOISE}（{marker}）")
    screenshot(operator, "operator-desk-desktop")
    operator.click("#submit-call")
    accepted = operator.locator("#accepted")
    assert "已受理" in accepted.inner_text()
    tracking_url = accepted.locator("a").get_attribute("href")
    assert tracking_url is not None
    assert tracking_url.startswith("/track/")

    # The next time this citizen calls, the operator finds the demand by the number, however
    # it is written.
    operator.fill('input[name="caller_phone"]', "+86 138-1234-5678")
    operator.click('#caller button[type="submit"]')
    earlier = operator.locator("tr[data-caller-demand]", has_text=marker)
    assert earlier.count() == 1
    screenshot(operator, "operator-caller-lookup-desktop")

    # The task appears on the department's workbench.
    clerk = new_page()
    sign_in_as(clerk, "urban")
    assert clerk.url.endswith("/department")
    clerk.fill("#q", marker)  # routing searches the department's tasks, a page at a time
    clerk.click('form.filters button[type="submit"]')
    row = clerk.locator("tr", has_text=marker)
    reload_until(clerk, lambda: row.count() == 1)
    assert "待签收" in row.inner_text()
    assert "剩余" in row.locator(".left").inner_text()
    screenshot(clerk, "department-workbench-desktop")
    row.locator("a").click()
    task_id = TASK_URL.search(clerk.url).group(1)  # type: ignore[union-attr]
    assert "13812345678" in clerk.inner_text("body")  # the lead sees the citizen's contact
    screenshot(clerk, "department-task-desktop")

    # The clerk signs, contacts the citizen and replies.
    clerk.click("#sign")
    assert clerk.inner_text("#task-state") == "已签收"
    clerk.click("#contact")
    assert clerk.inner_text("#task-state") == "已先行联系"
    clerk.select_option("#result", "resolved")
    clerk.fill("#reply_text", "已责令烧烤店整改，夜间停止营业")
    clerk.click("#reply")
    assert clerk.inner_text("#task-state") == "已办结"
    assert "签收" in clerk.inner_text(".timeline")
    screenshot(clerk, "department-task-replied-desktop")

    # A clerk of another department is refused the task page.
    other = new_page()
    sign_in_as(other, "street")
    refused = other.goto(f"/department/tasks/{task_id}")
    assert refused is not None
    assert refused.status == 403
    assert "无权查看" in other.inner_text("body")
    assert marker not in other.inner_text("body")

    # The citizen opens the SMS link on a phone, without JavaScript, and rates the reply.
    citizen = new_page(phone=True, javascript=False)
    citizen.goto(tracking_url)
    status = citizen.locator(".status-text")
    reload_until(citizen, lambda: status.inner_text() == "已答复")
    assert citizen.inner_text("#department") == "吴兴区综合行政执法局"
    screenshot(citizen, "citizen-evaluation-phone")

    def rated() -> bool:
        citizen.check('input[name="resolved"][value="yes"]')
        citizen.check('input[name="satisfaction"][value="satisfied"]')
        citizen.fill("#comment", "处理及时")
        citizen.click('button[type="submit"]')
        return "感谢您的评价" in citizen.inner_text("body")

    # feedback opens the callback from the same status event intake showed: it may lag a moment
    reload_until(citizen, rated)
    screenshot(citizen, "citizen-evaluated-phone")

    # The leaders' figures count the evaluation.
    leader.reload()
    assert int(leader.locator("#kpi-evaluated").inner_text()) >= evaluated_before + 1
    screenshot(leader, "leaders-dashboard-desktop")


def test_a_form_without_its_csrf_token_is_refused(new_page):
    page = new_page()
    sign_in_as(page, "operator")
    response = page.request.post(
        "/operator/calls", form={"content": NOISE, "place": "330502001016"}
    )
    assert response.status == 403
    assert "表单已失效" in response.text()
    forged = page.request.post(
        "/operator/calls", form={"content": NOISE, "place": "330502001016", "csrf": "forged"}
    )
    assert forged.status == 403


def test_the_call_form_names_each_refused_field_in_chinese(new_page):
    page = new_page()
    sign_in_as(page, "operator")
    page.fill("#content", "太吵")
    page.fill("#phone", "call me")
    response_status = []
    page.on("response", lambda r: response_status.append(r.status) if "/calls" in r.url else None)
    page.click("#submit-call")
    assert response_status == [422]
    assert page.inner_text('.error[data-field="content"]') == "至少 5 个字"
    assert page.inner_text('.error[data-field="place"]') == "至少 2 个字"
    assert page.inner_text('.error[data-field="phone"]') == "格式不正确"
    assert page.input_value("#content") == "太吵"  # what was typed is kept
    screenshot(page, "operator-refused-fields-desktop")


def test_a_services_refusal_is_shown_as_a_message(new_page):
    page = new_page()
    sign_in_as(page, "operator")
    page.fill("#place", "330502001016")
    page.fill("#matter_code", "NO-SUCH-MATTER")
    page.fill("#content", NOISE)
    page.click("#submit-call")
    assert "提交的内容有误" in page.inner_text(".message")
    assert "NO-SUCH-MATTER" in page.inner_text('.error[data-field="matter_code"]')


def test_signing_in_returns_to_the_page_asked_for(new_page):
    page = new_page()
    page.goto("/leaders?level=district")
    assert "/sign-in?next=" in page.url
    screenshot(page, "sign-in-desktop")
    page.locator('button[data-demo="city"]').click()
    assert page.url.endswith("/leaders?level=district")


def test_a_wrong_token_is_refused_at_sign_in(new_page):
    page = new_page(phone=True)
    page.goto("/sign-in")
    page.fill("#credential", "eyJhbGciOiJIUzI1NiJ9.e30.forged")
    page.click('form[action="/sign-in"] button')
    assert "令牌无效" in page.inner_text('.error[data-field="credential"]')
    screenshot(page, "sign-in-refused-phone")


def test_a_department_page_refuses_an_operator(new_page):
    page = new_page()
    sign_in_as(page, "operator")
    response = page.goto("/department")
    assert response is not None
    assert response.status == 403
    assert "仅供承办单位使用" in page.inner_text("body")


def test_a_wrong_tracking_link_says_so(new_page):
    page = new_page(phone=True, javascript=False)
    response = page.goto(f"/track/{uuid.uuid4()}?token=not-the-token")
    assert response is not None
    assert response.status == 404
    assert "未找到该诉求" in page.inner_text("body")


def test_signing_out_ends_the_session(new_page):
    page = new_page()
    sign_in_as(page, "district")
    assert page.url.endswith("/coordinator")
    screenshot(page, "coordinator-desk-desktop")
    page.click("text=退出登录")
    page.goto("/coordinator")
    assert "/sign-in" in page.url


def test_a_coordinators_act_is_checked_and_a_routing_refusal_shown(new_page):
    page = new_page()
    sign_in_as(page, "district")
    csrf = page.locator('input[name="csrf"]').first.get_attribute("value")
    unknown_task = uuid.uuid4()
    empty = page.request.post(
        f"/coordinator/tasks/{unknown_task}/coordinate", form={"csrf": csrf, "reason": "太短"}
    )
    assert empty.status == 422
    assert "处置方式必填" in empty.text()
    assert "单位必填" in empty.text()
    refused = page.request.post(
        f"/coordinator/tasks/{unknown_task}/coordinate",
        form={
            "csrf": csrf,
            "act": "reassign",
            "department_id": "330502000000.market_regulation",
            "reason": "属市场监管职责",
        },
    )
    assert refused.status == 404
    assert "未找到" in refused.text()
    assert "Traceback" not in refused.text()
    assert '{"detail"' not in refused.text()


def test_the_ranking_downloads_as_csv_and_xlsx(new_page):
    page = new_page()
    sign_in_as(page, "city")
    page.goto("/leaders?level=district")
    assert page.locator("svg.chart").count() >= 1  # the trend, drawn without script
    counts = [page.inner_text(f"#kpi-{name}") for name in ("open", "late", "escalated")]
    assert all(count.isdigit() for count in counts), counts
    with page.expect_download() as download:
        page.click("#export-xlsx")
    path = download.value.path()
    with zipfile.ZipFile(path) as workbook:
        sheet = workbook.read("xl/worksheets/sheet1.xml").decode()
    assert "满意率" in sheet
    assert "吴兴区" in sheet
    csv_text = page.request.get("/leaders/ranking.csv?level=district").text()
    assert csv_text.splitlines()[0].lstrip("\ufeff").startswith("排名,单位代码,单位")


def test_an_operator_classifies_a_demand_of_the_triage_queue_by_hand(new_page):
    marker = uuid.uuid4().hex[:8]
    page = new_page()
    sign_in_as(page, "operator")
    page.fill("#place", "330502001016")
    page.fill("#content", f"我想表扬一下你们的工作人员态度很好（{marker}）")
    page.click("#submit-call")
    assert "已受理" in page.inner_text("#accepted")
    item = page.locator("article.triage", has_text=marker)
    reload_until(page, lambda: item.count() == 1)
    screenshot(page, "operator-triage-desktop")
    item.locator('input[name="matter_code"]').fill("NO-SUCH-MATTER")
    item.locator("button").click()
    item = page.locator("article.triage", has_text=marker)
    assert "事项目录中没有 NO-SUCH-MATTER" in item.inner_text()  # routing's reason, in Chinese
    assert item.locator('input[name="unit_code"]').input_value() == "330502001016"
    item.locator('input[name="matter_code"]').fill("ENV-NOISE-LIFE")
    item.locator("button").click()
    assert "已人工分拨" in page.inner_text(".notice")
    assert page.locator("article.triage", has_text=marker).count() == 0


def _sign_deadline_now(database_url: str, marker: str) -> None:
    """No one signs: the sign deadline of the demand's tasks moves to now (instead of waiting
    hours), as the end-to-end escalation test does; the running sweeper does the rest."""

    async def move() -> int:
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(
                "UPDATE routing.tasks SET sign_due_at = now() WHERE content LIKE $1", f"%{marker}%"
            )
            status = await conn.execute(
                "UPDATE routing.deadlines d SET due_at = now() FROM routing.tasks t "
                "WHERE d.task_id = t.id AND d.stage = 'sign' AND t.content LIKE $1",
                f"%{marker}%",
            )
        finally:
            await conn.close()
        return int(status.split()[-1])

    # Playwright's sync API keeps an event loop in this thread: the query runs in another.
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(asyncio.run, move()).result() >= 1


def test_a_late_task_reaches_the_desk_of_the_coordinator_above_who_reassigns_it(new_page, infra):
    marker = uuid.uuid4().hex[:8]
    operator = new_page()
    sign_in_as(operator, "operator")
    operator.fill("#place", "330502001016")
    operator.fill("#content", f"小区垃圾堆放多日无人清理，臭味很大，请尽快处理（{marker}）")
    operator.click("#submit-call")
    assert "已受理" in operator.inner_text("#accepted")

    # Garbage in a community is the street office's; late, it goes to the district's
    # coordinator, who signs in with a token of their own (not a demo user).
    district = new_page()
    token = issue_token(
        AUTH_SECRET, sub="coordinator:330502000000", role=Role.coordinator,
        now=datetime.now(UTC), unit_code="330502000000",
    )  # fmt: skip
    district.goto("/sign-in")
    district.fill("#credential", token)
    district.click('form[action="/sign-in"] button')
    assert district.url.endswith("/coordinator")

    def routed() -> bool:
        try:
            _sign_deadline_now(infra.database_url, marker)
        except AssertionError:
            return False  # not routed yet
        return True

    # The desk stays open: its live feed shows the escalation without a reload.
    fed = district.locator("tr[data-feed-escalation]", has_text="330502001000.street_office")

    def fed_ids() -> set[str | None]:
        return {row.get_attribute("data-feed-escalation") for row in fed.all()}

    fed_before = fed_ids()
    reload_until(district, routed)
    deadline = time.monotonic() + 60
    while not fed_ids() - fed_before:  # no reload: the page's own script brings it
        assert time.monotonic() < deadline, "the live feed did not show the escalation"
        time.sleep(1)

    # Every open task of the jurisdiction, narrowed to the street office's late ones.
    listing = district
    listing.goto("/coordinator/tasks")
    listing.fill("#department", "330502001000.street_office")
    listing.check('input[name="late"]')
    listing.click('form.filters button[type="submit"]')
    late_row = listing.locator("tr[data-task]", has_text=marker)
    assert late_row.count() == 1
    assert "已超时" in late_row.inner_text()
    assert "330502000000" in late_row.inner_text()  # held by the district's coordinator
    screenshot(listing, "coordinator-open-tasks-desktop")

    district.goto("/coordinator")
    row = district.locator("tr[data-escalation]", has_text="330502001000.street_office")
    reload_until(district, lambda: row.count() >= 1)
    assert "签收" in row.first.inner_text()
    screenshot(district, "coordinator-escalation-desktop")
    row.first.locator('select[name="act"]').select_option("reassign")
    row.first.locator('input[name="department_id"]').fill("330502000000.urban_management")
    row.first.locator('input[name="reason"]').fill("暴露垃圾属综合行政执法局职责")
    row.first.locator("button").click()
    assert "已改派" in district.inner_text(".notice")
