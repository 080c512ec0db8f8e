"""Reading the sandbox's sign-in page as a browser would.

Anything that signs in without a browser (the test suites, the demo check)
reads the page's first form and posts it back: its action, its hidden fields
(the single-use flow token among them), the accounts it offers and its
buttons (``accept`` / ``cancel``).
"""
from __future__ import annotations

from html.parser import HTMLParser


class SignInForm(HTMLParser):
    """The first form of a sign-in page; feed it the page's HTML."""

    def __init__(self):
        super().__init__()
        self.action: str | None = None
        self.hidden: dict[str, str] = {}
        self.accounts: list[dict] = []  # {"id": mailbox id, "checked": pre-selected}
        self.buttons: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = attrs.get("action")
        elif tag == "input" and attrs.get("type") == "hidden":
            self.hidden[attrs["name"]] = attrs.get("value", "")
        elif tag == "input" and attrs.get("type") == "radio":
            self.accounts.append({"id": attrs["value"], "checked": "checked" in attrs})
        elif tag == "button":
            self.buttons.append(attrs.get("value"))

    @property
    def account_ids(self) -> list[str]:
        return [account["id"] for account in self.accounts]

    def answer(self, action: str, account: str | None = None) -> dict[str, str]:
        """The form data a click on ``action`` posts, with ``account`` picked."""
        data = {**self.hidden, "action": action}
        if account is not None:
            data["account"] = account
        return data


def parse_sign_in_form(page: str) -> SignInForm:
    form = SignInForm()
    form.feed(page)
    return form
