"""Event bodies: sanitizing Outlook HTML and the "Open in Odoo" back-link block.

Graph's ``body`` is an itemBody ``{"contentType": "html" | "text", "content": ...}``.
The core keeps bodies as HTML. Text bodies are escaped into HTML; inbound HTML
is sanitized with nh3 (formatting, links, tables and a safe subset of inline
styles survive; scripts, event handlers, ``javascript:`` links and comments do
not).

Images: an image in an inbound body is loaded by the browser of every Odoo
user who opens the event, so a remote one (a tracking pixel) tells its sender
who read the event, when, and from which address. By default inbound bodies
keep no image at all: a relative ``src`` would make the reader's browser send
a GET, with the reader's Odoo session, to Odoo itself. With
``allow_remote_images`` only absolute ``http(s)`` images are kept. Inline
images (``cid:``, attachments of the Outlook event, which the sync does not
fetch, so they could not show) and ``data:`` images (an inline payload, SVG
included) are dropped in both modes. No image is replaced by a placeholder:
the text, which is what the two sides compare, stays exactly the sender's.
Styles may name a few text properties only (none of which loads anything);
a style that contains ``url(`` or a CSS escape is dropped all the same.

When we write an event to Outlook we append a back-link to the Odoo record,
wrapped in a marker block (HTML comments around a ``div`` whose class names
it). Reading strips every such block before anything else happens, so the
user's own text never accumulates links, whatever they typed before or after
the block. If Exchange dropped the comments, the ``div`` alone is still
recognised.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import nh3

BACKLINK_LABEL = "Open in Odoo"
BACKLINK_OPEN = "<!--odoo-backlink-->"
BACKLINK_CLOSE = "<!--/odoo-backlink-->"

_BACKLINK_BLOCK = re.compile(
    re.escape(BACKLINK_OPEN) + r".*?" + re.escape(BACKLINK_CLOSE)
    # Fallback: the marker div alone (our block contains no nested div).
    + r"|<div[^>]*\bclass=\"[^\"]*odoo-backlink[^\"]*\"[^>]*>.*?</div>",
    re.DOTALL | re.IGNORECASE,
)
_HREF = re.compile(r"""href\s*=\s*["']([^"']*)["']""", re.IGNORECASE)

_STYLE_PROPERTIES = frozenset({
    "color", "background-color", "font-weight", "font-style", "font-size",
    "font-family", "text-decoration", "text-align",
})
_CSS_FETCH = re.compile(r"url\s*\(|\\", re.IGNORECASE)
_REMOTE_IMAGE_PREFIXES = ("http://", "https://")


def _safe_attribute(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "style" and _CSS_FETCH.search(value):
        return None
    if tag == "img" and attribute == "src" and not value.strip().lower().startswith(_REMOTE_IMAGE_PREFIXES):
        return None  # relative (Odoo itself), protocol-relative or odd: no request
    return value


def _cleaner(tags: set[str]) -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=tags,
        attributes={
            **{tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()},
            "*": set(nh3.ALLOWED_ATTRIBUTES.get("*", ())) | {"style"},
        },
        attribute_filter=_safe_attribute,
        filter_style_properties=set(_STYLE_PROPERTIES),
        link_rel=None,  # adding rel= would make every inbound body differ from what Odoo wrote
    )


_SANITIZER = _cleaner(set(nh3.ALLOWED_TAGS) - {"img"})
_SANITIZER_WITH_REMOTE_IMAGES = _cleaner(set(nh3.ALLOWED_TAGS))


def sanitize_html(content: str, *, allow_remote_images: bool = False) -> str:
    """Clean untrusted HTML from Outlook; idempotent.

    Without ``allow_remote_images`` every image is removed; with it, images
    whose ``src`` is an absolute http(s) URL are kept (see the module's
    docstring).
    """
    if not content:
        return ""
    return (_SANITIZER_WITH_REMOTE_IMAGES if allow_remote_images else _SANITIZER).clean(content)


def text_to_html(text: str) -> str:
    """Escape a plain-text body into HTML, keeping line breaks."""
    escaped = html.escape(text.replace("\r\n", "\n"), quote=False)
    return escaped.replace("\n", "<br>")


def backlink_block(url: str, record_url: str = "", record_name: str = "") -> str:
    """The marker block that carries the link back to the Odoo record.

    With ``record_url`` a second link, to the record the event belongs to (a
    CRM opportunity...), follows the first: ``Open in Odoo: <record_name>``.
    The event link always comes first; :func:`split_backlinks` relies on it.
    """
    links = f'<a href="{html.escape(url, quote=True)}">{BACKLINK_LABEL}</a>'
    if record_url:
        label = f"{BACKLINK_LABEL}: {record_name}" if record_name else BACKLINK_LABEL
        links += (f' | <a class="odoo-record" href="{html.escape(record_url, quote=True)}">'
                  f'{html.escape(label, quote=False)}</a>')
    return f'{BACKLINK_OPEN}<div class="odoo-backlink"><hr>{links}</div>{BACKLINK_CLOSE}'


def add_backlink(body_html: str, url: str, record_url: str = "", record_name: str = "") -> str:
    """Return ``body_html`` with the back-link block appended (none if ``url`` is empty).

    Any block already present is removed first, so calling this repeatedly
    never stacks links.
    """
    user_html, _ = split_backlink(body_html)
    return user_html + backlink_block(url, record_url, record_name) if url else user_html


def split_backlink(content: str) -> tuple[str, str]:
    """Remove every back-link block; return ``(user_html, url_of_last_block)``.

    ``url_of_last_block`` is ``""`` when no block was found.
    """
    url = ""
    for match in _BACKLINK_BLOCK.finditer(content):
        href = _HREF.search(match.group(0))
        if href:
            url = html.unescape(href.group(1))
    return _BACKLINK_BLOCK.sub("", content), url


_RECORD_LINK = re.compile(
    r"""<a\b[^>]*href\s*=\s*["']([^"']*)["'][^>]*>(.*?)</a>""", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def split_backlinks(content: str) -> tuple[str, str, str, str]:
    """Like :func:`split_backlink`, also returning the related-record link.

    Returns ``(user_html, event_url, record_url, record_name)`` from the last
    block; the record parts are ``""`` when the block has a single link.
    """
    event_url = record_url = record_name = ""
    blocks = list(_BACKLINK_BLOCK.finditer(content))
    if blocks:
        anchors = _RECORD_LINK.findall(blocks[-1].group(0))
        if anchors:
            event_url = html.unescape(anchors[0][0])
        if len(anchors) > 1:
            record_url = html.unescape(anchors[1][0])
            label = html.unescape(_TAG.sub("", anchors[1][1])).strip()
            prefix = BACKLINK_LABEL + ":"
            record_name = label[len(prefix):].strip() if label.startswith(prefix) else ""
    return _BACKLINK_BLOCK.sub("", content), event_url, record_url, record_name


class _TextExtractor(HTMLParser):
    _BREAKS = frozenset({"br", "p", "div", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "hr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head", "title"):
            self._skip += 1
        elif tag in self._BREAKS:
            self.parts.append(" ")
        elif tag == "a":
            self.parts.extend(f" <{value}> " for name, value in attrs if name == "href" and value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head", "title"):
            self._skip = max(0, self._skip - 1)
        elif tag in self._BREAKS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def body_fingerprint(content: str) -> str:
    """What counts as "the same body" when comparing the two sides.

    Exchange rewrites HTML it stores (wrappers, attributes, whitespace), so
    comparing markup would report edits nobody made. The fingerprint is the
    visible text plus link targets, with whitespace collapsed; formatting-only
    edits (making a word bold) are therefore not detected as changes.
    """
    if not content:
        return ""
    extractor = _TextExtractor()
    extractor.feed(split_backlink(content)[0])
    extractor.close()
    return " ".join("".join(extractor.parts).split())
