"""Our own async client for the Zalo Bot Platform API (no maintained Python client exists).

`POST {base}/bot<TOKEN>/<method>` with a JSON body, like Telegram. Answers may be wrapped in
`{ok, result}` or not; errors come as HTTP statuses and/or `{ok: false, error_code, description}`.

The token never leaves this module in readable form:
- httpx and httpcore log request URLs; they only ever see `/bot<redacted>/<method>`: a small
  transport (public httpx API) puts the real token into the path of the request it forwards, a
  new request object the libraries never log;
- every exception text we raise goes through `redact()`, and transport errors are re-raised
  `from None` with their type name only.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import quote

import httpx

from bot.channels.zalo.updates import ZaloUpdate, parse_updates, unwrap

log = logging.getLogger(__name__)

DEFAULT_BASE = "https://bot-api.zaloplatforms.com"
PLACEHOLDER = "<redacted>"
_PLACEHOLDER_PATH = "/bot" + quote(PLACEHOLDER, safe="") + "/"
QUOTA_RETRY_SECONDS = 3600.0  # monthly quota: try again later, the outbox decides when exactly
RATE_RETRY_SECONDS = 5.0


def bot_id_from_token(token: str) -> str:
    """`<bot_id>:<secret>` -> bot_id (public; used to key de-duplication)."""
    return token.split(":", 1)[0]


def redact(text: str, token: str | None) -> str:
    """Remove the token (raw or URL-quoted) and any `bot<something>/` path segment from text."""
    if token:
        for form in {token, quote(token, safe=""), quote(token, safe=":")}:
            text = text.replace(form, PLACEHOLDER)
    return re.sub(r"/bot[^/\s\"']+/", f"/bot{PLACEHOLDER}/", text)


class ZaloError(Exception):
    """A refusal or failure of the Zalo API. Its text never holds the token."""

    def __init__(self, method: str, code: int | None, description: str) -> None:
        self.method, self.code, self.description = method, code, description
        super().__init__(f"{method}: {code or '-'} {description}".strip())


class BadRequest(ZaloError):  # 400
    pass


class Unauthorized(ZaloError):  # 401: wrong or revoked token
    pass


class Forbidden(ZaloError):  # 403: e.g. the person never wrote to the bot
    pass


class NotFound(ZaloError):  # 404
    pass


class ServerError(ZaloError):  # 5xx and unexpected answers
    pass


class NetworkError(ZaloError):  # no HTTP answer at all
    pass


class RetryLater(ZaloError):
    """429: try again after `retry_after` seconds (never lost, never duplicated: the caller requeues)."""

    def __init__(self, method: str, code: int | None, description: str, retry_after: float) -> None:
        super().__init__(method, code, description)
        self.retry_after = retry_after


class QuotaExceeded(RetryLater):
    """429 "Quota exceeded": the plan's monthly outbound messages are used up."""


_BY_CODE: dict[int, type[ZaloError]] = {400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound}


class _TokenTransport(httpx.AsyncBaseTransport):
    """Forwards each request with the placeholder in its path replaced by the token."""

    def __init__(self, token: str, inner: httpx.AsyncBaseTransport) -> None:
        self._segment = "/bot" + quote(token, safe=":") + "/"
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode("ascii")
        real = request.url.copy_with(raw_path=path.replace(_PLACEHOLDER_PATH, self._segment, 1).encode("ascii"))
        forwarded = httpx.Request(request.method, real, headers=request.headers, stream=request.stream,
                                  extensions=request.extensions)
        return await self._inner.handle_async_request(forwarded)

    async def aclose(self) -> None:
        await self._inner.aclose()


class ZaloClient:
    """The Bot API methods thidua uses. One instance per bot token; close it (or `async with`)."""

    def __init__(self, token: str, base_url: str = DEFAULT_BASE, *, timeout: float = 15.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        if not token or ":" not in token:
            raise ValueError("a Zalo bot token looks like <bot_id>:<secret>")
        self._token = token
        self.bot_id = bot_id_from_token(token)
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._http = httpx.AsyncClient(
            base_url=self.base_url + _PLACEHOLDER_PATH,
            transport=_TokenTransport(token, transport or httpx.AsyncHTTPTransport()),
            timeout=timeout,
            headers={"User-Agent": "thidua-zalo/1"},
        )

    def __repr__(self) -> str:
        return f"ZaloClient(bot_id={self.bot_id!r}, base_url={self.base_url!r})"

    async def __aenter__(self) -> "ZaloClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    # -- plumbing --------------------------------------------------------------------------------
    async def call(self, method: str, payload: dict[str, Any] | None = None, *,
                   timeout: float | None = None) -> Any:
        """One API call -> its result (unwrapped). Raises a ZaloError subclass on any refusal."""
        try:
            response = await self._http.post(method, json=payload or {},
                                             timeout=timeout if timeout is not None else self.timeout)
        except httpx.TimeoutException as exc:
            raise NetworkError(method, None, f"timeout ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            raise NetworkError(method, None, redact(type(exc).__name__, self._token)) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        status = response.status_code
        ok_flag = body.get("ok") if isinstance(body, dict) else None
        code = status if status >= 400 else None
        if code is None and ok_flag is False:
            try:
                code = int(body.get("error_code"))
            except (TypeError, ValueError):
                code = 500
        if code is None:
            if body is None and response.content:
                raise ServerError(method, status, "answer is not JSON")
            log.debug("zalo %s -> %s", method, status)
            return unwrap(body)
        description = ""
        if isinstance(body, dict):
            description = str(body.get("description") or body.get("message") or "")
        description = redact(description or response.reason_phrase or "", self._token)[:300]
        log.debug("zalo %s -> %s", method, code)
        if code == 429:
            delay = self._retry_after(response, body)
            quota = "quota" in description.lower()
            later = QuotaExceeded if quota else RetryLater
            raise later(method, code, description or "Too Many Requests",
                        delay if delay is not None else (QUOTA_RETRY_SECONDS if quota else RATE_RETRY_SECONDS))
        refusal = _BY_CODE.get(code) or ServerError
        raise refusal(method, code, description)

    @staticmethod
    def _retry_after(response: httpx.Response, body: Any) -> float | None:
        candidates = [response.headers.get("Retry-After")]
        if isinstance(body, dict):
            params = body.get("parameters")
            params = params if isinstance(params, dict) else {}
            candidates += [params.get("retry_after"), body.get("retry_after")]
        for value in candidates:
            try:
                if value is not None and float(value) >= 0:
                    return float(value)
            except (TypeError, ValueError):
                continue
        return None

    # -- methods ---------------------------------------------------------------------------------
    async def get_me(self) -> dict[str, Any]:
        return await self.call("getMe")

    async def get_updates(self, timeout: int = 30) -> list[ZaloUpdate]:
        """Long poll. Zalo answers ONE update (no offset: an update already read may come again,
        de-duplicate by message_id) or HTTP 408 when idle, which is returned as []."""
        try:
            body = await self.call("getUpdates", {"timeout": str(int(timeout))}, timeout=timeout + 10.0)
        except ZaloError as err:
            if err.code == 408:
                return []
            raise
        return parse_updates(body)

    async def set_webhook(self, url: str, secret_token: str) -> Any:
        if not 8 <= len(secret_token) <= 256:
            raise ValueError("the webhook secret must be 8 to 256 characters")
        return await self.call("setWebhook", {"url": url, "secret_token": secret_token})

    async def delete_webhook(self) -> Any:
        return await self.call("deleteWebhook")

    async def get_webhook_info(self) -> dict[str, Any] | None:
        """The webhook, or None when there is none (Zalo answers 404)."""
        try:
            return await self.call("getWebhookInfo")
        except NotFound:
            return None

    async def send_message(self, chat_id: str, text: str) -> dict[str, Any]:
        return await self.call("sendMessage", {"chat_id": str(chat_id), "text": text})

    async def send_photo(self, chat_id: str, photo_url: str, caption: str | None = None) -> dict[str, Any]:
        """Zalo fetches the photo itself: `photo_url` must be a public http(s) URL."""
        payload = {"chat_id": str(chat_id), "photo": photo_url}
        if caption:
            payload["caption"] = caption
        return await self.call("sendPhoto", payload)

    async def send_chat_action(self, chat_id: str, action: str = "typing") -> Any:
        return await self.call("sendChatAction", {"chat_id": str(chat_id), "action": action})
