"""Helpers for browser tests."""


def login(page, base_url: str, user) -> None:
    """Sign `user` in through the login form (the user must be committed: transactional test)."""
    page.goto(base_url + "/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", user.test_password)
    page.click("button.primary")
    page.wait_for_load_state("networkidle")
