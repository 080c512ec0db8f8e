"""A local, stateful emulator of Microsoft Graph's calendar API and of the
Microsoft identity platform (sign-in, consent, tokens), for trying, testing
and measuring Outlook calendar clients without a Microsoft tenant.

It is an independent implementation: it never imports ``outlook_sync``.
"""
from .server import SandboxServer

__all__ = ["SandboxServer"]
