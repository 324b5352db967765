"""Deep linking from the dev LMS: the instructor creates an exam in the tool and the
LtiDeepLinkingResponse, verified by the LMS, adds the link to the course."""

from __future__ import annotations

import pytest
from selenium.webdriver.support.ui import Select

from proctor_lti.devlms.models import DevCourseLink
from proctor_lti.exams.models import Exam

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_instructor_adds_a_proctored_exam_to_the_course_by_deep_linking(make_browser, site):
    b = make_browser()
    b.driver.get(site.lms())
    b.click("#deep-link-katherine")
    b.into_tool_frame()
    b.find("form [name=title]")
    b.shot("exam picker")
    b.axe("deep-linking exam picker")
    b.driver.find_element("css selector", "input[name=choice][value=new]").click()
    title = b.driver.find_element("css selector", "[name=title]")
    title.clear()
    title.send_keys("Quiz 3 (proctored)")
    Select(b.driver.find_element("css selector", "[name=delivery]")).select_by_value(
        Exam.Delivery.ACCESS_CODE)
    b.driver.find_element("css selector", "form.card button[type=submit]:not([name])").click()
    # The tool auto-posts the signed response to the LMS, which verifies it.
    item = b.find("#deep-link-items li", timeout=30)
    assert "Quiz 3 (proctored)" in item.text
    b.shot("link added")
    b.axe("deep-linking result (dev LMS)")
    link = DevCourseLink.objects.get(from_deep_linking=True)
    exam = Exam.objects.get(title="Quiz 3 (proctored)")
    assert link.custom == {"exam_id": str(exam.pk)}
    b.driver.switch_to.default_content()
    b.driver.get(site.lms())
    assert "Quiz 3 (proctored)" in b.text()
