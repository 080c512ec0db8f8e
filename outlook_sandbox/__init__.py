"""A local, stateful emulator of Microsoft Graph's calendar API and of the
Microsoft identity platform (sign-in, consent, tokens), for trying, testing
and measuring Outlook calendar clients without a Microsoft tenant.

It is an independent implementation: it never imports ``outlook_sync``.
What it emulates and every known difference from Microsoft are listed in
the README ("Run the Outlook sandbox") and, with their sources, in the
docstrings of the module concerned.
"""
from .server import SandboxServer

__all__ = ["SandboxServer"]
