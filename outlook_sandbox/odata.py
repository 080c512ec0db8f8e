"""OData v4 query options as Graph's Outlook endpoints use them.

Collections accept ``$select``, ``$filter``, ``$orderby``, ``$top``, ``$skip``,
``$count`` and ``$expand``; a page holds ``$top`` items (default 10, at most
1000) and points to the next one with ``@odata.nextLink``, which repeats the
original query with a larger ``$skip``. ``Prefer: odata.maxpagesize=N`` also
bounds a page (see :func:`page_size`) and is echoed in ``Preference-Applied``.

``$filter`` is parsed here by a tokenizer and a recursive-descent parser for
the subset a calendar sync client uses: comparisons (``eq ne gt ge lt le``) on
property paths such as ``start/dateTime``, ``and``/``or``/``not`` with
parentheses, ``contains``/``startswith``/``endswith``, and lambda ``any``/
``all`` over collections, e.g.
``singleValueExtendedProperties/Any(ep: ep/id eq '{id}' and ep/value eq 'x')``.
Expressions are evaluated against the JSON form of an item (a dict), so the
module knows nothing about events; callers name the properties that exist.
Nothing is ever ``eval``-ed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable
from urllib.parse import quote, urlencode

from .errors import GraphError

# Outlook's collections (events, calendarView, instances): ten items a page
# unless the client asks, $top from 1 to 1000. Sources: "the default page size
# is 10 messages. You can use $top to customize the page size, within the
# range of 1 and 1000" (Microsoft Q&A 1082098,
# https://learn.microsoft.com/answers/questions/1082098); "by default event api
# return first 10 events" (Microsoft Q&A https://learn.microsoft.com/en-us/answers/a/1488109);
# "Different APIs might have different default and maximum page sizes"
# (https://learn.microsoft.com/graph/paging). Graph documents no separate
# maximum for odata.maxpagesize on Outlook collections; larger values are
# capped at the $top maximum here (UNCONFIRMED, as is whether Graph caps or
# ignores them).
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 1000
# Characters left readable in next links, as Graph writes them ($skip=10, not %24skip;
# spaces as %20).
_LINK_SAFE = "/$,:()'"

# Comparisons of these properties (last path segment) are case-sensitive;
# other strings compare case-insensitively as Exchange does. Extended-property
# ids are case-sensitive, their values are not (reference §8).
CASE_SENSITIVE_PROPERTIES = {"id"}


def invalid_filter(detail: str) -> GraphError:
    return GraphError(400, "BadRequest", f"Invalid filter clause: {detail}")


def unknown_property(name: str, entity: str) -> GraphError:
    return GraphError(400, "BadRequest", f"Could not find a property named '{name}' on type '{entity}'.")


# -- tokenizer ------------------------------------------------------------------

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<name>[A-Za-z_][\w.]*)
  | (?P<punct>[(),:/])
""", re.VERBOSE)


@dataclass(frozen=True)
class Token:
    kind: str  # string | datetime | number | name | punct | end
    text: str
    position: int


def tokenize(text: str) -> list[Token]:
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise invalid_filter(f"syntax error at position {position} in '{text}'.")
        if match.lastgroup != "space":
            tokens.append(Token(match.lastgroup, match.group(), position))
        position = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


# -- expression tree ---------------------------------------------------------------

Scope = dict[str, object]  # lambda variable -> the collection item it stands for


class Node:
    def evaluate(self, item: dict, scope: Scope) -> object:
        raise NotImplementedError


@dataclass
class Literal(Node):
    value: object

    def evaluate(self, item, scope):
        return self.value


@dataclass
class Path(Node):
    segments: list[str]

    def evaluate(self, item, scope):
        current: object = item
        segments = self.segments
        if segments[0] in scope:
            current, segments = scope[segments[0]], segments[1:]
        for segment in segments:
            current = _get(current, segment)
        return current

    @property
    def leaf(self) -> str:
        return self.segments[-1]


@dataclass
class Compare(Node):
    operator: str
    left: Node
    right: Node

    def evaluate(self, item, scope):
        left, right = self.left.evaluate(item, scope), self.right.evaluate(item, scope)
        case_sensitive = any(isinstance(side, Path) and side.leaf in CASE_SENSITIVE_PROPERTIES
                             for side in (self.left, self.right))
        left, right = _comparable(left, right, case_sensitive)
        if self.operator == "eq":
            return left == right
        if self.operator == "ne":
            return left != right
        if left is None or right is None:
            return False
        try:
            return {"gt": left > right, "ge": left >= right, "lt": left < right, "le": left <= right}[self.operator]
        except TypeError:
            return False


@dataclass
class Logical(Node):
    operator: str  # and | or
    left: Node
    right: Node

    def evaluate(self, item, scope):
        if self.operator == "and":
            return bool(self.left.evaluate(item, scope)) and bool(self.right.evaluate(item, scope))
        return bool(self.left.evaluate(item, scope)) or bool(self.right.evaluate(item, scope))


@dataclass
class Not(Node):
    operand: Node

    def evaluate(self, item, scope):
        return not self.operand.evaluate(item, scope)


@dataclass
class Function(Node):
    name: str  # contains | startswith | endswith
    arguments: list[Node]

    def evaluate(self, item, scope):
        haystack, needle = (argument.evaluate(item, scope) for argument in self.arguments)
        if not isinstance(haystack, str) or not isinstance(needle, str):
            return False
        haystack, needle = haystack.lower(), needle.lower()
        if self.name == "contains":
            return needle in haystack
        if self.name == "startswith":
            return haystack.startswith(needle)
        return haystack.endswith(needle)


@dataclass
class Lambda(Node):
    quantifier: str  # any | all
    collection: Path
    variable: str
    predicate: Node

    def evaluate(self, item, scope):
        values = self.collection.evaluate(item, scope) or []
        if not isinstance(values, list):
            return False
        results = (bool(self.predicate.evaluate(item, {**scope, self.variable: value})) for value in values)
        return any(results) if self.quantifier == "any" else all(results)


def _get(value: object, name: str) -> object:
    """Dict look-up by OData property name; Graph resolves names case-insensitively."""
    if not isinstance(value, dict):
        return None
    if name in value:
        return value[name]
    lower = name.lower()
    return next((v for k, v in value.items() if k.lower() == lower), None)


_DATETIME_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:\d{2})?$")


def _as_datetime(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, str) and _DATETIME_TEXT.match(value):
        parsed = datetime.fromisoformat(value)
        # Values without an offset are UTC: Graph filters start/dateTime in UTC
        # whatever outlook.timezone says (UNCONFIRMED beyond observed use).
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return None


def _comparable(left: object, right: object, case_sensitive: bool) -> tuple[object, object]:
    left_dt, right_dt = _as_datetime(left), _as_datetime(right)
    if left_dt is not None and right_dt is not None:
        return left_dt, right_dt
    if isinstance(left, str) and isinstance(right, str) and not case_sensitive:
        return left.lower(), right.lower()
    if isinstance(left, str) and isinstance(right, (int, float)) and not isinstance(right, bool):
        try:  # ep/value holds every extended property as a string
            return float(left), right
        except ValueError:
            return left, right
    return left, right


# -- parser ---------------------------------------------------------------------

_COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le"}
_FUNCTIONS = {"contains", "startswith", "endswith"}


class _Parser:
    def __init__(self, text: str, properties: set[str] | None, entity: str):
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0
        self.properties = {p.lower() for p in properties} if properties is not None else None
        self.entity = entity
        self.variables: list[str] = []

    # helpers
    def peek(self, offset: int = 0) -> Token:
        return self.tokens[min(self.index + offset, len(self.tokens) - 1)]

    def take(self) -> Token:
        token = self.peek()
        self.index += 1
        return token

    def is_word(self, word: str, offset: int = 0) -> bool:
        token = self.peek(offset)
        return token.kind == "name" and token.text.lower() == word

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text != text:
            raise self.error(token)

    def error(self, token: Token) -> GraphError:
        where = f"'{token.text}' at position {token.position}" if token.kind != "end" else "end of input"
        return invalid_filter(f"syntax error at {where} in '{self.text}'.")

    # grammar
    def parse(self) -> Node:
        node = self.parse_or()
        if self.peek().kind != "end":
            raise self.error(self.peek())
        return node

    def parse_or(self) -> Node:
        node = self.parse_and()
        while self.is_word("or"):
            self.take()
            node = Logical("or", node, self.parse_and())
        return node

    def parse_and(self) -> Node:
        node = self.parse_unary()
        while self.is_word("and"):
            self.take()
            node = Logical("and", node, self.parse_unary())
        return node

    def parse_unary(self) -> Node:
        if self.is_word("not"):
            self.take()
            return Not(self.parse_unary())
        if self.peek().text == "(":
            self.take()
            node = self.parse_or()
            self.expect(")")
            return node
        left = self.parse_operand()
        if isinstance(left, (Lambda, Function)) or (isinstance(left, Literal) and isinstance(left.value, bool)):
            return left
        token = self.take()
        if token.kind != "name" or token.text.lower() not in _COMPARISONS:
            raise self.error(token)
        return Compare(token.text.lower(), left, self.parse_operand())

    def parse_operand(self) -> Node:
        token = self.take()
        if token.kind == "string":
            return Literal(token.text[1:-1].replace("''", "'"))
        if token.kind == "datetime":
            return Literal(token.text)
        if token.kind == "number":
            return Literal(float(token.text) if "." in token.text else int(token.text))
        if token.kind != "name":
            raise self.error(token)
        word = token.text.lower()
        if word in ("true", "false"):
            return Literal(word == "true")
        if word == "null":
            return Literal(None)
        if word in _FUNCTIONS and self.peek().text == "(":
            self.take()
            first = self.parse_operand()
            self.expect(",")
            second = self.parse_operand()
            self.expect(")")
            return Function(word, [first, second])
        return self.parse_path(token)

    def parse_path(self, first: Token) -> Node:
        segments = [first.text]
        while self.peek().text == "/":
            self.take()
            token = self.take()
            if token.kind != "name":
                raise self.error(token)
            if token.text.lower() in ("any", "all") and self.peek().text == "(":
                return self.parse_lambda(token.text.lower(), self.checked_path(segments))
            segments.append(token.text)
        return self.checked_path(segments)

    def parse_lambda(self, quantifier: str, collection: Path) -> Lambda:
        self.expect("(")
        variable = self.take()
        if variable.kind != "name":
            raise self.error(variable)
        self.expect(":")
        self.variables.append(variable.text)
        predicate = self.parse_or()
        self.variables.pop()
        self.expect(")")
        return Lambda(quantifier, collection, variable.text, predicate)

    def checked_path(self, segments: list[str]) -> Path:
        root = segments[0]
        if root not in self.variables and self.properties is not None and root.lower() not in self.properties:
            raise unknown_property(root, self.entity)
        return Path(segments)


def parse_filter(text: str, properties: set[str] | None = None,
                 entity: str = "microsoft.graph.event") -> Node:
    """Parse a ``$filter`` value; 400 ``BadRequest`` "Invalid filter clause" when malformed.

    ``properties``: the names a path may start with (None: any).
    """
    if not text or not text.strip():
        raise invalid_filter("the filter expression is empty.")
    return _Parser(text, properties, entity).parse()


def matches(node: Node, item: dict) -> bool:
    return bool(node.evaluate(item, {}))


# -- $orderby ---------------------------------------------------------------------

def parse_orderby(text: str, properties: set[str] | None = None,
                  entity: str = "microsoft.graph.event") -> list[tuple[list[str], bool]]:
    """``"start/dateTime desc, subject"`` -> [(["start", "dateTime"], True), (["subject"], False)]."""
    keys = []
    for clause in text.split(","):
        words = clause.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise GraphError(400, "BadRequest", f"Invalid $orderby clause: '{text}'.")
        segments = words[0].split("/")
        if not all(re.fullmatch(r"[A-Za-z_]\w*", s) for s in segments):
            raise GraphError(400, "BadRequest", f"Invalid $orderby clause: '{text}'.")
        if properties is not None and segments[0].lower() not in {p.lower() for p in properties}:
            raise unknown_property(segments[0], entity)
        keys.append((segments, len(words) == 2 and words[1].lower() == "desc"))
    return keys


def sort_items(items: list, orderby: list[tuple[list[str], bool]], record: Callable[[object], dict]) -> list:
    """Stable multi-key sort of ``items`` by values read from ``record(item)``; nulls first."""
    result = list(items)
    for segments, descending in reversed(orderby):
        path = Path(segments)

        def key(item, path=path):
            value = path.evaluate(record(item), {})
            when = _as_datetime(value)
            if when is not None:
                value = when.timestamp()
            elif isinstance(value, str):
                value = value.lower()
            return (value is not None, value if value is not None else 0)
        result.sort(key=key, reverse=descending)
    return result


# -- $expand ----------------------------------------------------------------------

def parse_expand(text: str) -> dict[str, str | None]:
    """``"singleValueExtendedProperties($filter=id eq 'x'),attachments"`` ->
    {"singleValueExtendedProperties": "id eq 'x'", "attachments": None} (names as given)."""
    expansions: dict[str, str | None] = {}
    depth, start = 0, 0
    parts = []
    for position, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                break
        elif char == "," and depth == 0:
            parts.append(text[start:position])
            start = position + 1
    if depth != 0:
        raise GraphError(400, "BadRequest",
                         f"Parsing OData Select and Expand failed: unbalanced parentheses in '{text}'.")
    parts.append(text[start:])
    for part in parts:
        match = re.fullmatch(r"\s*([A-Za-z_]\w*)\s*(?:\((.*)\))?\s*", part, re.DOTALL)
        if match is None:
            raise GraphError(400, "BadRequest", f"Parsing OData Select and Expand failed: '{text}'.")
        name, options = match.group(1), match.group(2)
        nested_filter = None
        if options is not None:
            option = re.fullmatch(r"\s*\$filter\s*=\s*(.+?)\s*", options, re.DOTALL)
            if option is None:
                raise GraphError(400, "BadRequest",
                                 f"Parsing OData Select and Expand failed: unsupported options '{options}'.")
            nested_filter = option.group(1)
        expansions[name] = nested_filter
    return expansions


# -- the whole query -------------------------------------------------------------

@dataclass
class QueryOptions:
    select: list[str] | None = None
    filter: Node | None = None
    orderby: list[tuple[list[str], bool]] = field(default_factory=list)
    top: int | None = None
    skip: int = 0
    count: bool = False
    expand: dict[str, str | None] = field(default_factory=dict)


def max_page_size_preference(ctx) -> int | None:
    """``Prefer: odata.maxpagesize`` when it is a positive integer (capped at
    :data:`MAX_PAGE_SIZE`), else None: an unusable preference is ignored, as
    RFC 7240 §2 lets a server do."""
    wanted = (ctx.prefer.get("odata.maxpagesize") or "").strip() if ctx is not None else ""
    if not wanted.isdigit() or int(wanted) == 0:
        return None
    return min(int(wanted), MAX_PAGE_SIZE)


def page_size(ctx, top: int | None, default: int = DEFAULT_PAGE_SIZE) -> int:
    """Items on one page: ``$top`` (Outlook's page size) bounded by
    ``Prefer: odata.maxpagesize``, or the preference alone, or ``default``.

    When the preference took part, ``ctx.applied_max_page_size`` records it so
    the response says ``Preference-Applied: odata.maxpagesize=N``
    (:func:`outlook_sandbox.eventdata.apply_preferences`).
    """
    preferred = max_page_size_preference(ctx)
    if preferred is None:
        return top if top is not None else default
    ctx.applied_max_page_size = preferred
    return min(top, preferred) if top is not None else preferred


def parse_top(query: dict) -> int | None:
    """``$top`` (also ``top``, any case) as a number; 400 when it is not one or exceeds the maximum."""
    options = {"$" + k.lower().lstrip("$"): v for k, v in query.items() if k.lower().lstrip("$") == "top"}
    top = _non_negative_int(options, "$top")
    if top is not None and top > MAX_PAGE_SIZE:
        # UNCONFIRMED wording; Outlook caps a page at 1000 items.
        raise GraphError(400, "BadRequest", f"The limit of '{MAX_PAGE_SIZE}' for Top query has been exceeded. "
                         f"The value from the incoming request is '{top}'.")
    return top


def _non_negative_int(query: dict, name: str) -> int | None:
    raw = query.get(name)
    if raw is None:
        return None
    if not re.fullmatch(r"\s*\d+\s*", raw):
        raise GraphError(400, "BadRequest", f"Invalid value '{raw}' for query option '{name}'.")
    return int(raw)


def parse_query(query: dict, properties: set[str], entity: str = "microsoft.graph.event") -> QueryOptions:
    """Read the ``$`` options of a request (``query``: first value of each parameter).

    Option names are matched case-insensitively and also without the ``$``, as
    Graph v1.0 does.
    """
    options = {}
    for key, value in query.items():
        name = key.lower().lstrip("$")
        if name in ("select", "filter", "orderby", "top", "skip", "count", "expand"):
            options["$" + name] = value
    result = QueryOptions()
    if "$select" in options:
        names = [n.strip() for n in options["$select"].split(",") if n.strip()]
        by_lower = {p.lower(): p for p in properties}
        for name in names:
            if name.lower() not in by_lower:
                raise unknown_property(name, entity)
        result.select = [by_lower[n.lower()] for n in names]
    if "$filter" in options:
        result.filter = parse_filter(options["$filter"], properties, entity)
    if "$orderby" in options:
        result.orderby = parse_orderby(options["$orderby"], properties, entity)
    result.top = parse_top(options)
    result.skip = _non_negative_int(options, "$skip") or 0
    if "$count" in options:
        if options["$count"].lower() not in ("true", "false"):
            raise GraphError(400, "BadRequest", f"Invalid value '{options['$count']}' for query option '$count'.")
        result.count = options["$count"].lower() == "true"
    if "$expand" in options:
        result.expand = parse_expand(options["$expand"])
    return result


def page(ctx, items: list, options: QueryOptions) -> tuple[list, str | None]:
    """The page of ``items`` the request asked for and the ``@odata.nextLink`` (or None).

    The next link repeats the request's own query string with ``$skip`` moved
    on; a client that pages by ``odata.maxpagesize`` sends the header again
    with it (SDK page iterators do), one that does not gets default-sized
    pages from there, never a gap or a repeat.
    """
    size = page_size(ctx, options.top)
    chunk = items[options.skip:options.skip + size]
    following = options.skip + size
    if size == 0 or following >= len(items):
        return chunk, None
    query = [(k, v) for k, v in ctx.query.items() if k.lower().lstrip("$") != "skip"]
    query.append(("$skip", str(following)))
    path = ctx.raw_path.split("?", 1)[0]
    if path.lower().startswith("/v1.0"):
        path = path[len("/v1.0"):]
    return chunk, f"{ctx.base_url}{path}?{urlencode(query, safe=_LINK_SAFE, quote_via=quote)}"
