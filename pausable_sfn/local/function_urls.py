"""Lambda function URLs, served on the embedded AWS's endpoint as Lambda serves them.

A function URL on AWS is `https://<url-id>.lambda-url.<region>.on.aws/`; here it is
`http://127.0.0.1:<port>/lambda-url/<url-id>/` (what follows the url-id is the request's path, as
what follows the host is on AWS). A request to it invokes the function synchronously with the
event Lambda builds (payload format 2.0), and the function's answer becomes the HTTP response by
Lambda's rules. What AWS answers without invoking anything is answered the same way: an unknown
url-id (403), a request the function's resource-based policy does not allow (403), an unsigned
request to an AWS_IAM URL (403), a throttle (429); a function error is a 502.
"""

import base64
import binascii
import json
import secrets
import string
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from werkzeug.wrappers import Request, Response

from .clock import current_time
from .runtime import FunctionNotFoundError, Invocation, LambdaRuntime, RuntimeStoppedError, ThrottledError

PATH_PREFIX = "/lambda-url/"
URL_ID_ALPHABET = string.ascii_lowercase + string.digits
URL_ID_LENGTH = 32
# Lambda's own answers (what it says without invoking the function, or for a failed invocation).
UNKNOWN_URL = b'{"Message":null}'
FORBIDDEN = json.dumps(
    {
        "Message": "Forbidden. For troubleshooting Function URL authorization issues, see: "
        "https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"
    },
    separators=(",", ":"),
).encode()
THROTTLED = b'{"Message":"Rate Exceeded."}'
FUNCTION_ERROR = b"Internal Server Error"
# Request bodies Lambda hands over as text; every other body (a form post included) is base64.
TEXT_TYPES = {"application/json", "application/javascript", "application/xml"}
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def new_url_id() -> str:
    """32 random lowercase letters and digits, as the url-id of a function URL on AWS."""
    return "".join(secrets.choice(URL_ID_ALPHABET) for _ in range(URL_ID_LENGTH))


@dataclass(frozen=True)
class FunctionUrlTarget:
    """A function URL as its configuration and its function's resource-based policy make it."""

    url_id: str
    function: str
    auth_type: str  # NONE or AWS_IAM
    # For NONE: the function's policy lets anyone invoke it through its URL (on AWS, both
    # lambda:InvokeFunctionUrl and lambda:InvokeFunction must be granted to "*").
    public: bool
    account_id: str


FindUrl = Callable[[str], FunctionUrlTarget | None]


class FunctionUrls:
    """The WSGI application that answers requests under PATH_PREFIX."""

    def __init__(self, find: FindUrl, runtime: LambdaRuntime) -> None:
        self._find = find
        self._runtime = runtime

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        return self.respond(request)(environ, start_response)

    def respond(self, request: Request) -> Response:
        path, query = _raw_target(request)
        url_id, _, rest = path[len(PATH_PREFIX) :].partition("/")
        target = self._find(url_id)
        if target is None:
            return _aws_answer(403, UNKNOWN_URL, "AccessDeniedException")
        caller = _access_key(request)
        if target.auth_type == "AWS_IAM" and caller is None:
            return _aws_answer(403, FORBIDDEN, "AccessDeniedException")
        if target.auth_type == "NONE" and not target.public:
            return _aws_answer(403, FORBIDDEN, "AccessDeniedException")
        request_id = str(uuid.uuid4())
        event = url_event(request, target, request_id, raw_path=f"/{rest}", raw_query=query, caller=caller)
        try:
            invocation = self._runtime.invoke(target.function, event, request_id=request_id)
        except ThrottledError:
            return _aws_answer(429, THROTTLED, "TooManyRequestsException")
        except RuntimeStoppedError:
            return _aws_answer(503, b'{"Message":"the embedded AWS is stopping"}', "ServiceException")
        except FunctionNotFoundError:
            message = f"{target.function} was not deployed from an assembly: the embedded AWS cannot run its code"
            return _aws_answer(502, json.dumps({"Message": message}).encode(), "ServiceException")
        response = http_response(invocation)
        response.headers["x-amzn-RequestId"] = request_id
        return response


def url_event(
    request: Request,
    target: FunctionUrlTarget,
    request_id: str,
    *,
    raw_path: str,
    raw_query: str,
    caller: str | None,
) -> dict[str, Any]:
    """The event Lambda gives a function invoked through its URL (payload format 2.0)."""
    now = datetime.fromtimestamp(current_time(), UTC)  # the embedded AWS's clock
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers.items():
        if name.lower() == "cookie":
            cookies.extend(cookie.strip() for cookie in value.split(";") if cookie.strip())
        else:
            headers[name.lower()] = value  # werkzeug has already joined repeated headers with commas
    source_ip = request.remote_addr or ""
    forwarded = headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = f"{forwarded}, {source_ip}" if forwarded else source_ip
    headers["x-forwarded-proto"] = request.scheme
    headers["x-forwarded-port"] = str(request.environ.get("SERVER_PORT", ""))
    headers.setdefault("x-amzn-trace-id", f"Root=1-{int(now.timestamp()):08x}-{secrets.token_hex(12)}")
    context: dict[str, Any] = {
        "accountId": "anonymous" if target.auth_type == "NONE" else target.account_id,
        "apiId": target.url_id,
        "domainName": request.host,
        "domainPrefix": target.url_id,
        "http": {
            "method": request.method,
            "path": raw_path,
            "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            "sourceIp": source_ip,
            "userAgent": request.headers.get("User-Agent", ""),
        },
        "requestId": request_id,
        "routeKey": "$default",
        "stage": "$default",
        "time": f"{now:%d}/{MONTHS[now.month - 1]}/{now:%Y:%H:%M:%S} +0000",
        "timeEpoch": int(now.timestamp() * 1000),
    }
    if target.auth_type == "AWS_IAM":
        # Who signed: the embedded AWS checks no signature and no policy, so only the key is known.
        context["authorizer"] = {
            "iam": {
                "accessKey": caller,
                "accountId": target.account_id,
                "callerId": None,
                "cognitoIdentity": None,
                "principalOrgId": None,
                "userArn": None,
                "userId": None,
            }
        }
    event: dict[str, Any] = {"version": "2.0", "routeKey": "$default", "rawPath": raw_path, "rawQueryString": raw_query}
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if raw_query:
        parameters: dict[str, list[str]] = {}
        for name, value in parse_qsl(raw_query, keep_blank_values=True):
            parameters.setdefault(name, []).append(value)
        event["queryStringParameters"] = {name: ",".join(values) for name, values in parameters.items()}
    event["requestContext"] = context
    body = request.get_data()
    text = _is_text(request.headers.get("Content-Type", ""))
    if body:
        event["body"] = body.decode() if text else base64.b64encode(body).decode()
    event["isBase64Encoded"] = bool(body) and not text
    return event


def http_response(invocation: Invocation) -> Response:
    """The HTTP response Lambda makes of a function's answer: a dict with a statusCode says what
    to send; anything else is sent as it is (a string) or as compact JSON, with status 200."""
    if invocation.failed:
        return _aws_answer(502, FUNCTION_ERROR, None)
    result = invocation.result()
    if not (isinstance(result, dict) and "statusCode" in result):
        answer = result if isinstance(result, str) else json.dumps(result, separators=(",", ":"))
        return Response(answer, 200, content_type="application/json")
    try:
        return _structured_response(result)
    except (TypeError, ValueError, AttributeError, binascii.Error):
        return _aws_answer(502, FUNCTION_ERROR, None)  # an answer Lambda cannot make a response of


def _structured_response(result: dict[str, Any]) -> Response:
    status = int(result["statusCode"])
    if not 100 <= status <= 599:
        raise ValueError(f"status {status}")
    response = Response(_response_body(result), status, content_type="application/json")
    for name, value in (result.get("headers") or {}).items():
        response.headers[name] = str(value)
    for cookie in result.get("cookies") or []:
        response.headers.add("Set-Cookie", str(cookie))
    return response


def _response_body(result: dict[str, Any]) -> bytes:
    body = result.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        return json.dumps(body, separators=(",", ":")).encode()
    if result.get("isBase64Encoded"):
        return base64.b64decode(body, validate=True)
    return body.encode()


def _aws_answer(status: int, body: bytes, error_type: str | None) -> Response:
    response = Response(body, status, content_type="application/json")
    if error_type:
        response.headers["x-amzn-ErrorType"] = error_type
    return response


def _raw_target(request: Request) -> tuple[str, str]:
    """The request's path and query as the client sent them (still percent-encoded), as Lambda
    passes rawPath and rawQueryString on."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if not raw:  # a WSGI server that keeps only the decoded path
        return request.path, request.environ.get("QUERY_STRING", "")
    target = urlsplit(str(raw).encode("latin-1").decode("utf-8", errors="replace"))
    return target.path, target.query


def _is_text(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media.startswith("text/") or media in TEXT_TYPES or media.endswith(("+json", "+xml"))


def _access_key(request: Request) -> str | None:
    """The access key a request is signed with (Signature Version 4, in the header or the query)."""
    authorization = request.headers.get("Authorization", "")
    credential = ""
    if authorization.startswith("AWS4-HMAC-SHA256 "):
        for part in authorization[len("AWS4-HMAC-SHA256 ") :].split(","):
            name, _, value = part.strip().partition("=")
            if name == "Credential":
                credential = value
    elif "X-Amz-Signature" in request.args:
        credential = request.args.get("X-Amz-Credential", "")
    return credential.split("/", 1)[0] or None
