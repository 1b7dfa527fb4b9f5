"""Class mode in real Chromium tabs: the teacher's page updates by itself, students see reveals and
"follow me" banners without reloading (timed fragments, as a browser runs them)."""
from tests.browser_utils import exceptions, wait_idle, wait_settled


def _metric(page, label):
    return page.locator("[data-testid=stMetric]", has_text=label).locator("[data-testid=stMetricValue]")


def test_a_teacher_and_a_student_in_two_tabs(app_url, browser):
    teacher = browser.new_page(viewport={"width": 1400, "height": 1000})
    teacher.goto(f"{app_url}/class")
    wait_idle(teacher)
    teacher.get_by_role("button", name="Start a class").click()
    _metric(teacher, "Class code").wait_for(timeout=30_000)
    code = _metric(teacher, "Class code").inner_text().strip()
    qr = teacher.locator("[data-testid=stImage] img").first
    qr.wait_for(timeout=30_000)
    assert qr.evaluate("img => img.naturalWidth") >= 300, "QR code too small to scan from the back"
    assert f"/class?join={code}" in teacher.locator("[data-testid=stCode]").first.inner_text()

    student = browser.new_page(viewport={"width": 1400, "height": 1000})
    student.goto(f"{app_url}/class?join={code}")     # what the QR code opens
    wait_idle(student)
    student.get_by_text(f"You are in class {code}").wait_for(timeout=30_000)
    student.locator("[data-testid=stSidebarNav] a", has_text="2 · Shape propagation").first.click()
    student.wait_for_url("**/shapes*", timeout=30_000)
    wait_settled(student)   # the page's charts mount above the quiz: click once they have stopped moving it
    quiz = student.locator("[data-testid=stRadio]").last
    quiz.locator("[data-testid=stRadioOption]", has_text="[32, 128]").click()
    quiz.locator("input:checked").first.wait_for(state="attached", timeout=30_000)   # the click landed
    student.get_by_text(f"Your answer went to class {code}").wait_for(timeout=30_000)
    assert student.locator("[data-testid=stAlert]", has_text="Right.").count() == 0, "feedback before the reveal"

    # the teacher's tab was not reloaded: its tally fragment refreshes by itself
    teacher.get_by_text("1 of 1 joined students answered.").wait_for(timeout=30_000)
    teacher.get_by_role("button", name="Reveal").click()
    student.locator("[data-testid=stAlert]", has_text="Right.").wait_for(timeout=30_000)

    # follow me: the teacher opens page 1 and sends the class there
    teacher.locator("[data-testid=stSidebarNav] a", has_text="1 · Raw tensors").first.click()
    teacher.wait_for_url("**/tensors*", timeout=30_000)
    wait_idle(teacher)
    teacher.get_by_role("button", name="Send my class here").click()
    banner = student.locator("[data-testid=stAlert]", has_text="Your teacher opened")
    banner.wait_for(timeout=30_000)
    student.get_by_role("button", name="Follow").click()
    student.wait_for_url("**/tensors*", timeout=30_000)
    wait_idle(student)
    assert not exceptions(student), exceptions(student)
    assert not exceptions(teacher), exceptions(teacher)
