# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Every kind of answer from Microsoft's identity platform gets its own
readable explanation and next step."""

from outlook_sync.errors import ReauthenticationRequired, SignInError, TransientError

from odoo.tests import TransactionCase, tagged

from ..utils.explain import explain_sign_in_error


@tagged("post_install", "-at_install")
class TestExplain(TransactionCase):

    def title(self, error, **kwargs):
        title, explanation, next_step = explain_sign_in_error(self.env, error, **kwargs)
        self.assertTrue(explanation and next_step)
        return title

    def test_each_case_has_its_own_title(self):
        cases = {
            ("access_denied", "AADSTS65004: User declined to consent to access the app."):
                "You declined the permissions",
            ("access_denied", "AADSTS65001: The user or administrator has not consented"):
                "An administrator must approve this application",
            SignInError("invalid_grant", "consent", (65001,)): "An administrator must approve this application",
            SignInError("invalid_client", "Invalid client secret provided.", (7000215,)): "The Client Secret is wrong",
            SignInError("invalid_client", "The provided client secret keys are expired.", (7000222,)):
                "The Client Secret has expired",
            SignInError("invalid_client", "Application not found.", (700016,)): "The Client ID is not known to Microsoft",
            ("invalid_request", "AADSTS50011: The redirect URI specified in the request does not match"):
                "The Redirect URI is not registered",
            SignInError("invalid_grant", "reply address mismatch", (500112,)): "The Redirect URI is not registered",
            SignInError("invalid_grant", "User account does not exist in tenant", (50020,)):
                "This account or tenant is not allowed",
            SignInError("invalid_authority"): "This account or tenant is not allowed",
            SignInError("invalid_grant", "code already redeemed", (54005,)): "This sign-in can no longer be used",
            SignInError("invalid_auth_response"): "This sign-in can no longer be used",
            ReauthenticationRequired("invalid_grant", "expired due to inactivity", (700082,)):
                "Microsoft asks you to sign in again",
            ReauthenticationRequired("invalid_grant", "revoked", (50173,)): "Microsoft asks you to sign in again",
            TransientError("no answer", code="IdentityUnavailable"): "Microsoft could not be reached",
            SignInError("temporarily_unavailable", "something new"): "Microsoft refused the sign-in",
        }
        for error, title in cases.items():
            with self.subTest(error=str(error)):
                self.assertEqual(self.title(error), title)

    def test_users_are_sent_to_their_administrator(self):
        error = SignInError("invalid_client", "Invalid client secret provided.", (7000215,))
        _title, _explanation, for_user = explain_sign_in_error(self.env, error)
        _title, _explanation, for_admin = explain_sign_in_error(self.env, error, is_admin=True)
        self.assertIn("Ask your administrator", for_user)
        self.assertNotIn("Ask your administrator", for_admin)
