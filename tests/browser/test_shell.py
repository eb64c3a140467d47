from tests.browser.conftest import browser_login


def test_login_and_language_switch_in_chromium(page, make_user):
    user = make_user("facilitator", name="Lotte Jansen")
    browser_login(page, user)
    assert page.get_by_role("heading", name="Welkom, Lotte").is_visible()
    assert page.locator("html").get_attribute("lang") == "nl"
    page.get_by_role("button", name="Switch to English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_role("button", name="Naar Nederlands").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "nl"


def test_keyboard_skip_link_reaches_main(page):
    page.goto(page.base_url + "/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert "Naar de inhoud" in focused
