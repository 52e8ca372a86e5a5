"""Records of a JSON REST API, fetched page by page with httpx and typed into Arrow.

:func:`fetch_records` follows the source's pagination (offset, page number, cursor
or ``Link: rel="next"``), retries connection errors, timeouts, 5xx and 429
responses with exponential backoff (tenacity), and builds one ``pyarrow.Table``
from every page's records. Columns the caller's schema names get its Arrow
types; a column holding any value that does not convert is kept as text (each
value's original JSON text), so the quality gate can flag and quarantine the
bad rows instead of the whole extract failing.

JSON numbers are parsed exactly: a number with a fraction or an exponent keeps its
text (:class:`_Number`), so a decimal column gets the digits the API sent
(``12345678901234.5678``, not the nearest float), and a value kept as text is the
number as it was written.

Secrets: header values are unwrapped only when a request is sent, and error
messages and logs name a URL without its query string or user info.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import time
from collections.abc import Callable
from decimal import Decimal
from http import HTTPStatus
from typing import Any

import httpx
import pyarrow as pa
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from lakegate.config.pipeline import RestSource
from lakegate.errors import InputDataError

__all__ = ["fetch_records"]

log = logging.getLogger(__name__)
# httpx logs every request's full URL at INFO, query string included (an API key may
# sit there): keep its logger quiet.
logging.getLogger("httpx").setLevel(logging.WARNING)

_MISSING = object()
# What a value that does not fit an Arrow type raises while converting.
_CONVERSION_ERRORS = (
    ValueError,
    TypeError,
    ArithmeticError,
    NotImplementedError,
    pa.ArrowException,
)


class _Retry(Exception):
    """A failed attempt worth retrying (tenacity retries only this).

    Attributes:
        retry_after: Seconds the server asked to wait (429 ``Retry-After``), or None.
        transient: Whether the failure, once retries are exhausted, may pass later.
    """

    def __init__(self, reason: str, *, retry_after: float | None = None, transient: bool = True):
        super().__init__(reason)
        self.retry_after = retry_after
        self.transient = transient


def fetch_records(
    source: RestSource,
    *,
    schema: pa.Schema | None = None,
    watermark: Any = None,
    client: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
    on_page: Callable[[int, int], None] | None = None,
) -> pa.Table:
    """Fetch every page of a REST source and return its records as one Arrow table.

    Args:
        source: The source: URL, records path, query parameters, headers, pagination,
            incremental parameter, timeout (seconds), retries and backoff (seconds).
        schema: The contract's columns and Arrow types. Those columns come first, in
            this order, typed (see below); None infers every column.
        watermark: The incremental watermark (a datetime, date or any value), sent as
            the ``source.incremental_param`` query parameter when both are set: a
            datetime or date in ISO 8601 form, anything else as ``str()``. An API that
            answers with the records at or after it (inclusive) loses none stamped with
            the watermark's value; the runner drops those already loaded
            (:mod:`lakegate.boundary`).
        client: An httpx client to send requests with (the caller closes it); by
            default one is opened and closed here. Headers and the timeout are sent
            with each request either way.
        sleep: Waits a number of seconds between retries (tests pass a fake one).
        on_page: Called after each page with (pages fetched, records so far).

    Returns:
        A table with a row per record, in the order served. Columns: the schema's
        (absent fields all null, with their type), then other fields in first-seen
        order, as pyarrow infers them (JSON text when a field mixes types). Timestamps
        are parsed from ISO 8601 strings (``Z`` or an offset; naive means UTC), dates
        from ``YYYY-MM-DD``, decimals from strings or numbers (exactly, from the JSON
        text: never through a float; a value with more digits than the column's
        precision or scale does not convert). A schema column with any
        value that does not convert is a string column of each value's original text
        (numbers, booleans and nested values as JSON text; null stays null). No
        records gives zero rows with the schema's columns (no columns without one).

    Raises:
        InputDataError: A 4xx response (other than 429, which is retried); retries
            exhausted on connection errors, timeouts, 5xx or 429 responses
            (``transient`` is True unless the last failure was a 429); a body that is
            not valid JSON; ``records_path`` missing or not a list of objects; a
            cursor or next link that repeats. Raised before any table is returned;
            the message names the URL (without its query string) and the page
            number (1 for the first request of this call).
    """
    pagination = source.pagination
    base = httpx.URL(source.url)
    params: dict[str, Any] = dict(source.params)
    if source.incremental_param and watermark is not None:
        params[source.incremental_param] = _param_text(watermark)
    if pagination.type == "offset":
        params.update({pagination.limit_param: pagination.limit, pagination.offset_param: 0})
    elif pagination.type == "page":
        params.update(
            {pagination.limit_param: pagination.limit, pagination.page_param: pagination.start_page}
        )

    records: list[dict[str, Any]] = []
    owned = client is None
    http = client if client is not None else httpx.Client(timeout=source.timeout_seconds)
    try:
        url: httpx.URL | None = base.copy_merge_params(params)
        page = 0
        while url is not None:
            page += 1
            response = _get(http, url, page, source, sleep)
            body = _json(response, url, page)
            batch = _records(body, source.records_path, url, page)
            records.extend(batch)
            if on_page is not None:
                on_page(page, len(records))
            if source.max_pages is not None and page >= source.max_pages:
                break
            url = _next_url(source, base, params, url, response, body, len(batch), page)
    finally:
        if owned:
            http.close()
    return _to_table(records, schema)


def _next_url(
    source: RestSource,
    base: httpx.URL,
    params: dict[str, Any],
    url: httpx.URL,
    response: httpx.Response,
    body: Any,
    count: int,
    page: int,
) -> httpx.URL | None:
    """The URL of the page after ``page``, or None when it was the last one.

    ``params`` is updated in place with the next offset, page number or cursor.
    """
    p = source.pagination
    if p.type in ("offset", "page"):
        if count < p.limit:
            return None
        if p.type == "offset":
            params[p.offset_param] = int(params[p.offset_param]) + p.limit
        else:
            params[p.page_param] = int(params[p.page_param]) + 1
        return base.copy_merge_params(params)
    if p.type == "cursor":
        cursor = _dig(body, p.cursor_path or "")
        if cursor is _MISSING or cursor is None or cursor == "":
            return None
        if params.get(p.cursor_param) == str(cursor):
            raise InputDataError(f"{_where(url, page)}: the API sent back the same cursor again")
        params[p.cursor_param] = str(cursor)
        return base.copy_merge_params(params)
    if p.type == "link_header":
        link = response.links.get("next", {}).get("url")
        if not link:
            return None
        following = response.url.join(link)
        if following == url:
            raise InputDataError(f"{_where(url, page)}: the Link header's next URL is this page")
        return following
    return None


def _get(
    client: httpx.Client,
    url: httpx.URL,
    page: int,
    source: RestSource,
    sleep: Callable[[float], None],
) -> httpx.Response:
    """GET one page, retrying connection errors, timeouts, 5xx and 429 responses.

    Raises:
        InputDataError: A 4xx response (not 429), an unusable URL, or retries exhausted.
    """
    where = _where(url, page)

    def attempt() -> httpx.Response:
        # Secret header values are unwrapped here, for this request only.
        headers = {name: value.get_secret_value() for name, value in source.headers.items()}
        try:
            response = client.get(
                url, headers=headers, timeout=source.timeout_seconds, follow_redirects=True
            )
        except (httpx.UnsupportedProtocol, httpx.TooManyRedirects) as exc:
            raise InputDataError(f"{where}: {exc}") from None
        except httpx.TransportError as exc:  # connection errors and timeouts
            raise _Retry(f"{type(exc).__name__}: {exc}") from None
        status = _status(response.status_code)
        if response.status_code == 429:
            delay = _retry_after(response.headers.get("Retry-After"))
            raise _Retry(status, retry_after=delay, transient=False)
        if response.status_code >= 500:
            raise _Retry(status)
        if response.status_code >= 400:
            raise InputDataError(f"{where}: {status}")
        return response

    def wait(state: RetryCallState) -> float:
        failure = state.outcome.exception() if state.outcome else None
        if isinstance(failure, _Retry) and failure.retry_after is not None:
            return failure.retry_after
        return float(source.backoff_seconds * 2 ** (state.attempt_number - 1))

    def before_sleep(state: RetryCallState) -> None:
        failure = state.outcome.exception() if state.outcome else None
        delay = state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "%s: %s; retry %d of %d in %.1f s",
            where,
            failure,
            state.attempt_number,
            source.max_retries,
            delay,
        )

    retrying = Retrying(
        stop=stop_after_attempt(source.max_retries + 1),
        wait=wait,
        retry=retry_if_exception_type(_Retry),
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
    try:
        return retrying(attempt)
    except _Retry as exc:
        error = InputDataError(f"{where}: gave up after {source.max_retries + 1} attempt(s): {exc}")
        error.transient = exc.transient
        raise error from None


class _Number(float):
    """A JSON number with a fraction or an exponent: a float that keeps its text.

    ``json.loads`` would round ``12345678901234.5678`` to the nearest float; this keeps
    ``text`` for the exact uses (decimal columns, values kept as text) while Arrow
    infers and casts it as the float it also is. ``str()`` and ``repr()`` give the text.
    """

    __slots__ = ("text",)
    text: str

    def __new__(cls, text: str) -> _Number:
        number = super().__new__(cls, text)
        number.text = text
        return number

    def __repr__(self) -> str:
        return self.text

    __str__ = __repr__


def _json(response: httpx.Response, url: httpx.URL, page: int) -> Any:
    try:
        return json.loads(response.content, parse_float=_Number)
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise InputDataError(f"page {page} of {_display(url)} is not valid JSON: {exc}") from None


def _records(body: Any, path: str | None, url: httpx.URL, page: int) -> list[dict[str, Any]]:
    """The list of record objects of one page's body (at ``path``, dotted, if given)."""
    found = body if path is None else _dig(body, path)
    what = f"{_where(url, page)}: " + (f"records_path {path!r}" if path else "the body")
    if found is _MISSING:
        raise InputDataError(f"{what} is not in the response")
    if not isinstance(found, list):
        raise InputDataError(f"{what} is a JSON {type(found).__name__}, not a list")
    for n, record in enumerate(found):
        if not isinstance(record, dict):
            raise InputDataError(
                f"{what}: record {n} is a JSON {type(record).__name__}, not an object"
            )
    return found


def _dig(body: Any, path: str) -> Any:
    """The value at a dotted path (``data.items``; a number indexes a list), or _MISSING."""
    node = body
    for key in path.split("."):
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return _MISSING
    return node


def _display(url: httpx.URL) -> str:
    """A URL safe to print: no query string (it may hold keys), fragment or user info."""
    return str(url.copy_with(query=None, fragment=None, userinfo=b""))


def _where(url: httpx.URL, page: int) -> str:
    return f"GET {_display(url)} page {page}"


def _status(code: int) -> str:
    """``HTTP 401 Unauthorized``: the standard phrase (the server's own is not repeated)."""
    try:
        return f"HTTP {code} {HTTPStatus(code).phrase}"
    except ValueError:
        return f"HTTP {code}"


def _param_text(value: Any) -> str:
    """A watermark as a query parameter: ISO 8601 for datetimes and dates, else str()."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date), or None."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


# Typing into Arrow.


def _to_table(records: list[dict[str, Any]], schema: pa.Schema | None) -> pa.Table:
    typed = {} if schema is None else {field.name: field.type for field in schema}
    names = list(typed)
    seen = set(names)
    for record in records:
        for name in record:
            if name not in seen:
                seen.add(name)
                names.append(name)
    if not records:
        return pa.schema([(n, t) for n, t in typed.items()]).empty_table()
    arrays = []
    for name in names:
        values = [record.get(name) for record in records]
        arrays.append(_typed(values, typed[name]) if name in typed else _inferred(values))
    return pa.Table.from_arrays(arrays, names=names)


def _typed(values: list[Any], target: pa.DataType) -> pa.Array:
    """``values`` as ``target``; as their original text when any value does not convert."""
    if pa.types.is_string(target) or pa.types.is_large_string(target):
        return _text(values).cast(target)
    try:
        if pa.types.is_timestamp(target):
            utc = pa.array([_timestamp(v) for v in values], pa.timestamp("us", tz="UTC"))
            return utc.cast(target, safe=True)
        if pa.types.is_date(target):
            return pa.array([_date(v) for v in values], pa.date32()).cast(target, safe=True)
        if pa.types.is_decimal(target):
            return pa.array([_decimal(v) for v in values], target)
        if pa.types.is_nested(target):
            return pa.array(values, target)
        if pa.types.is_integer(target):  # 1.0E3 is 1000; 9007199254740993.0 no float
            values = [_integer(v) for v in values]
        inferred = pa.array(values)
        kind = inferred.type
        if pa.types.is_boolean(kind) != pa.types.is_boolean(target) and not (
            pa.types.is_null(kind) or pa.types.is_string(kind)
        ):
            raise TypeError(f"{kind} values for a {target} column")
        return inferred.cast(target, safe=True)  # safe: 2.5 is no int64
    except _CONVERSION_ERRORS:
        return _text(values)


def _inferred(values: list[Any]) -> pa.Array:
    try:
        return pa.array(values)
    except _CONVERSION_ERRORS:
        return _text(values)


def _text(values: list[Any]) -> pa.Array:
    """Each value's original text: strings as they are, others as JSON text, null as null."""
    return pa.array(
        [v if v is None or isinstance(v, str) else _json_text(v) for v in values],
        pa.string(),
    )


def _json_text(value: Any) -> str:
    """``value`` as JSON text, its numbers written as the API wrote them.

    ``json.dumps`` writes a float subclass through ``float.__repr__``, which would
    print the rounded float, so objects and lists are written here.
    """
    if isinstance(value, _Number):
        return value.text
    if isinstance(value, dict):
        items = (f"{json.dumps(k, ensure_ascii=False)}: {_json_text(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_json_text(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _timestamp(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"a timestamp must be an ISO 8601 string, not {type(value).__name__}")
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def _date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"a date must be a YYYY-MM-DD string, not {type(value).__name__}")
    return dt.date.fromisoformat(value)


def _integer(value: Any) -> Any:
    """A JSON number with a fraction or exponent as the int it writes, exactly (others
    as they are); one with a non-zero fraction raises."""
    if not isinstance(value, _Number):
        return value
    number = Decimal(value.text)
    if not number.is_finite() or number != number.to_integral_value():
        raise ValueError(f"{value.text} is not an integer")
    return int(number)


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise TypeError(f"a decimal must be a number or a string, not {type(value).__name__}")
    number = Decimal(str(value).strip())  # a _Number's str() is the API's own text
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite decimal")
    return number
