"""RFC 4475 torture messages against the parser and against a running UserAgent.

The messages are rebuilt from RFC 4475 §3.1.1 (valid), §3.1.2 (invalid) and §3.3
(application-layer semantics); CRLF line ends, the binary parts as escapes. Every
valid message parses; every invalid one raises ``SipParseError`` with the status
a UAS answers (and nothing else ever escapes ``parse``), or parses and is refused by
the UA with the status the RFC asks for.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from confero.sip.framing import StreamFramer
from confero.sip.message import (
    NameAddr,
    Request,
    Response,
    SipParseError,
    SipUri,
    parse,
)
from confero.sip.ua import UserAgent
from tests.sip.test_ua import FAST, Raw


def msg(text: str, body: bytes = b"") -> bytes:
    """The RFC's text with CRLF line ends; ``body`` (already CRLF) appended as is."""
    return text.replace("\n", "\r\n").encode("utf-8") + body


def sdp(ip: str = "192.0.2.1", t: str = "0 0") -> bytes:
    return msg(
        f"v=0\no=mhandley 29739 7272939 IN IP4 {ip}\ns=-\nc=IN IP4 {ip}\nt={t}\n"
        "m=audio 49217 RTP/AVP 0 12\nm=video 3227 RTP/AVP 31\na=rtpmap:31 LPC\n"
    )


# --------------------------------------------------------------------------- §3.1.1
WSINV = msg(
    "INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0\n"
    "TO :\n"
    " sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n\n"
    'from   : "J Rosenberg \\\\\\""       <sip:jdrosen@example.com>\n'
    "  ;\n"
    "  tag = 98asjd8\n"
    "MaX-fOrWaRdS: 0068\n"
    "Call-ID: wsinv.ndaksdj@192.0.2.1\n"
    "Content-Length   : 150\n"
    "cseq: 0009\n"
    "  INVITE\n"
    "Via  : SIP  /   2.0\n"
    " /UDP\n"
    "    192.0.2.2;branch=390skdjuw\n"
    "s :\n"
    "NewFangledHeader:   newfangled value\n"
    " continued newfangled value\n"
    "UnknownHeaderWithUnusualValue: ;;,,;;,;\n"
    "Content-Type: application/sdp\n"
    "Route:\n"
    " <sip:services.example.com;lr;unknownwith=value;unknown-no-value>\n"
    "v:  SIP  / 2.0  / TCP     spindle.example.com   ;\n"
    "  branch  =   z9hG4bK9ikj8  ,\n"
    " SIP  /    2.0   / UDP  192.168.255.111   ; branch=\n"
    " z9hG4bK30239\n"
    'm:"Quoted string \\"\\"" <sip:jdrosen@example.com> ; newparam =\n'
    "      newvalue ;\n"
    "  secondparam ; q = 0.33\n"
    "\n",
    msg(
        "v=0\no=mhandley 29739 7272939 IN IP4 192.0.2.3\ns=-\nc=IN IP4 192.0.2.4\n"
        "t=0 0\nm=audio 49217 RTP/AVP 0 12\nm=video 3227 RTP/AVP 31\na=rtpmap:31 LPC\n"
    ),
)
INTMETH_METHOD = "!interesting-Method0123456789_*+`.%indeed'~"
INTMETH_USER = "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
INTMETH = msg(
    f"{INTMETH_METHOD} sip:{INTMETH_USER}:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    "@example.com SIP/2.0\n"
    "Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~\n"
    f'To: "BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f" <sip:{INTMETH_USER}@example.com>\n'
    "From: token1~` token2'+_ token3*%!.- <sip:mundane@example.com>"
    ";fromParam''~+*_!.-%=\"работающий\";tag=_token~1'+`*%!-.\n"
    "Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{\n"
    f"CSeq: 139122385 {INTMETH_METHOD}\n"
    "Max-Forwards: 255\n"
    "extensionHeader-!.%*+_`'~:\ufeff大停電\n"
    "Content-Length: 0\n\n"
)
ESC01 = msg(
    "INVITE sip:sips%3Auser%40example.com@example.net SIP/2.0\n"
    "To: sip:%75se%72@example.com\n"
    "From: <sip:I%20have%20spaces@example.net>;tag=938\n"
    "Max-Forwards: 87\n"
    "i: esc01.239409asdfakjkn23onasd0-3234\n"
    "CSeq: 234234 INVITE\n"
    "Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bKkdjuw\n"
    "C: application/sdp\n"
    "Contact:\n"
    "  <sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>\n"
    "Content-Length: 150\n\n",
    sdp(),
)
ESCNULL = msg(
    "REGISTER sip:example.com SIP/2.0\n"
    "To: sip:null-%00-null@example.com\n"
    "From: sip:null-%00-null@example.com;tag=839923423\n"
    "Max-Forwards: 70\n"
    "Call-ID: escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd\n"
    "CSeq: 14398234 REGISTER\n"
    "Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw\n"
    "Contact: <sip:%00@host5.example.com>\n"
    "Contact: <sip:%00%00@host5.example.com>\n"
    "L:0\n\n"
)
ESC02 = msg(
    "RE%47IST%45R sip:registrar.example.com SIP/2.0\n"
    'To: "%Z%45" <sip:resource@example.com>\n'
    'From: "%Z%45" <sip:resource@example.com>;tag=f232jadfj23\n'
    "Call-ID: esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf\n"
    "Via: SIP/2.0/TCP host.example.com;branch=z9hG4bK209%fzsnel234\n"
    "CSeq: 29344 RE%47IST%45R\n"
    "Max-Forwards: 70\n"
    "Contact: <sip:alias1@host1.example.com>\n"
    "C%6Fntact: <sip:alias2@host2.example.com>\n"
    "Contact: <sip:alias3@host3.example.com>\n"
    "l: 0\n\n"
)
LWSDISP = msg(
    "OPTIONS sip:user@example.com SIP/2.0\n"
    "To: sip:user@example.com\n"
    "From: caller<sip:caller@example.com>;tag=323\n"
    "Max-Forwards: 70\n"
    "Call-ID: lwsdisp.1234abcd@funky.example.com\n"
    "CSeq: 60 OPTIONS\n"
    "Via: SIP/2.0/UDP funky.example.com;branch=z9hG4bKkdjuw\n"
    "l: 0\n\n"
)
_LONG = "long" * 20
LONGREQ = msg(
    "INVITE sip:user@example.com SIP/2.0\n"
    'To: "I have a user name of ' + "extreme" * 10 + ' proportion"'
    "<sip:user@example.com:6000;unknownparam1=very" + _LONG + "value"
    ";longparam" + "name" * 25 + "=shortvalue"
    ";very" + "long" * 24 + "ParameterNameWithNoValue>\n"
    "F: sip:" + "amazinglylongcallername" * 5 + "@example.net"
    ";tag=12" + "982" * 50 + "424"
    ";unknownheaderparam" + "name" * 20 + "=unknowheaderparam" + "value" * 15 + ""
    ";unknownValueless" + "paramname" * 10 + "\n"
    "Call-ID: longreq.one" + "really" * 20 + "longcallid\n"
    "CSeq: 3882340 INVITE\n"
    "Unknown-"
    + "Long" * 20
    + "-Name: unknown-"
    + _LONG
    + "-value; unknown-"
    + _LONG
    + "-parameter-name = unknown-"
    + _LONG
    + "-parameter-value\n"
    "Via: SIP/2.0/TCP sip33.example.com\n"
    "v: SIP/2.0/TCP sip32.example.com\n"
    "V: SIP/2.0/TCP sip31.example.com\n"
    "Via: SIP/2.0/TCP sip30.example.com\n"
    "ViA: SIP/2.0/TCP sip29.example.com\n"
    "VIa: SIP/2.0/TCP sip28.example.com\n"
    "VIA: SIP/2.0/TCP sip27.example.com\n"
    "via: SIP/2.0/TCP sip26.example.com\n"
    "viA: SIP/2.0/TCP sip25.example.com\n"
    "vIa: SIP/2.0/TCP sip24.example.com\n"
    "vIA: SIP/2.0/TCP sip23.example.com\n"
    "V :  SIP/2.0/TCP sip22.example.com\n"
    "v :  SIP/2.0/TCP sip21.example.com\n"
    "V  : SIP/2.0/TCP sip20.example.com\n"
    "v  : SIP/2.0/TCP sip19.example.com\n"
    "Via : SIP/2.0/TCP sip18.example.com\n"
    "Via  : SIP/2.0/TCP sip17.example.com\n"
    + "".join(f"Via: SIP/2.0/TCP sip{n}.example.com\n" for n in range(16, 0, -1))
    + "Via: SIP/2.0/TCP host.example.com;received=192.0.2.5;branch=very"
    + "long" * 50
    + "branchvalue\n"
    "Max-Forwards: 70\n"
    "Contact: <sip:" + "amazinglylongcallername" * 5 + "@host5.example.net>\n"
    "Content-Type: application/sdp\n"
    "l: 150\n\n",
    sdp(),
)
DBLREQ_INVITE = msg(
    "INVITE sip:joe@example.com SIP/2.0\n"
    "t: sip:joe@example.com\n"
    "From: sip:caller@example.net;tag=141334\n"
    "Max-Forwards: 8\n"
    "Call-ID: dblreq.0ha0isnda977644900765@192.0.2.15\n"
    "CSeq: 8 INVITE\n"
    "Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw380234\n"
    "Content-Type: application/sdp\n"
    "Content-Length: 150\n\n",
    msg(
        "v=0\no=mhandley 29739 7272939 IN IP4 192.0.2.15\ns=-\nc=IN IP4 192.0.2.15\n"
        "t=0 0\nm=audio 49217 RTP/AVP 0 12\nm =video 3227 RTP/AVP 31\na=rtpmap:31 LPC\n"
    ),
)
DBLREQ = (
    msg(
        "REGISTER sip:example.com SIP/2.0\n"
        "To: sip:j.user@example.com\n"
        "From: sip:j.user@example.com;tag=43251j3j324\n"
        "Max-Forwards: 8\n"
        "I: dblreq.0ha0isndaksdj99sdfafnl3lk233412\n"
        "Contact: sip:j.user@host.example.com\n"
        "CSeq: 8 REGISTER\n"
        "Via: SIP/2.0/UDP 192.0.2.125;branch=z9hG4bKkdjuw23492\n"
        "Content-Length: 0\n\n"
    )
    + DBLREQ_INVITE
)
SEMIURI = msg(
    "OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0\n"
    "To: sip:j_user@example.com\n"
    "From: sip:caller@example.org;tag=33242\n"
    "Max-Forwards: 3\n"
    "Call-ID: semiuri.0ha0isndaksdj\n"
    "CSeq: 8 OPTIONS\n"
    "Accept: application/sdp, application/pkcs7-mime,\n"
    "        multipart/mixed, multipart/signed,\n"
    "        message/sip, message/sipfrag\n"
    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKkdjuw\n"
    "l: 0\n\n"
)
TRANSPORTS = msg(
    "OPTIONS sip:user@example.com SIP/2.0\n"
    "To: sip:user@example.com\n"
    "From: <sip:caller@example.com>;tag=323\n"
    "Max-Forwards: 70\n"
    "Call-ID:  transports.kijh4akdnaqjkwendsasfdj\n"
    "Accept: application/sdp\n"
    "CSeq: 60 OPTIONS\n"
    "Via: SIP/2.0/UDP t1.example.com;branch=z9hG4bKkdjuw\n"
    "Via: SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf\n"
    "Via: SIP/2.0/TLS t3.example.com;branch=z9hG4bK2980unddj\n"
    "Via: SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en\n"
    "Via: SIP/2.0/TCP t5.example.com;branch=z9hG4bK0a9idfnee\n"
    "l: 0\n\n"
)
# The S/MIME part of mpart01 is binary; the RFC prints it as hex.
_MPART_BINARY = bytes.fromhex(
    "30820152 06092a86 0d0a4886 f70d0107 02a08201 43308201 3f020101 31093007"
    "06052b0e 03021a30 0b06092a 864886f7 0d010701 31820120 3082011c 02010130"
    "7c307031 0b300906 03550406 13025553 31133011 06035504 08130a43 616c6966"
    "6f726e69 61311130 0f060355 04071308 53616e20 4a6f7365 310e300c 06035504"
    "0a130573 69706974 31293027 06035504 0b132053 69706974 20546573 74204365"
    "72746966 69636174 65204175 74686f72 69747902 08019500 71023301 13300706"
    "052b0e03 021a300d 06092a86 4886f70d 01010105 00048180 8ef466f9 48f0522d"
    "d2e5978e 9d95aae9 f2fe15a0 66597162 92e8da2a a8d8350a 68ceffae 3cbd2bff"
    "1675ddd5 648e593d d64728f2 6220f7e9 41749e33 0d9a15ed abdb93d1 0c42102e"
    "7b7289d2 9cc0c9ae 2efbc7c0 cff9172f 3b027e4f c027e154 6de4b6aa 3abb3e66"
    "cccb5dd6 c64b8383 149cb8e6 ff182d94 4fe57b65 bc99d005"
)
MPART01_BODY = (
    msg(
        "--7a9cbec02ceef655\nContent-Type: text/plain\nContent-Transfer-Encoding: binary\n"
        "\nHello\n--7a9cbec02ceef655\nContent-Type: application/octet-stream\n"
        "Content-Transfer-Encoding: binary\n\n"
    )
    + _MPART_BINARY
    + b"--7a9cbec02ceef655--\r\n"
)
MPART01 = msg(
    "MESSAGE sip:kumiko@example.org SIP/2.0\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-d87543-4dade06d0bdb11ee-1--d87543-;rport\n"
    "Max-Forwards: 70\n"
    "Route: <sip:127.0.0.1:5080>\n"
    "Identity: r5mwreLuyDRYBi/0TiPwEsY3rEVsk/G2WxhgTV1PF7hHuLIK0YWVKZhKv9Mj8UeXqkMVbnVq37CD+"
    "813gvYjcBUaZngQmXc9WNZSDNGCzA+fWl9MEUHWIZo1CeJebdY/XlgKeTa0Olvq0rt70Q5jiSfbqMJmQFteei"
    "vUhkMWYUA=\n"
    "Contact: <sip:fluffy@127.0.0.1:5070>\n"
    "To: <sip:kumiko@example.org>\n"
    "From: <sip:fluffy@example.com>;tag=2fb0dcc9\n"
    "Call-ID: 3d9485ad0c49859b@Zmx1ZmZ5LW1hYy0xNi5sb2NhbA..\n"
    "CSeq: 1 MESSAGE\n"
    "Content-Transfer-Encoding: binary\n"
    "Content-Type: multipart/mixed;boundary=7a9cbec02ceef655\n"
    "Date: Sat, 15 Oct 2005 04:44:56 GMT\n"
    "User-Agent: SIPimp.org/0.2.5 (curses)\n"
    f"Content-Length: {len(MPART01_BODY)}\n\n",
    MPART01_BODY,
)
UNREASON_PHRASE = "= 2**3 * 5**2 но сто девяносто девять - простое"
UNREASON = msg(
    f"SIP/2.0 200 {UNREASON_PHRASE}\n"
    "Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923\n"
    "Call-ID: unreason.1234ksdfak3j2erwedfsASdf\n"
    "CSeq: 35 INVITE\n"
    "From: sip:user@example.com;tag=11141343\n"
    "To: sip:user@example.edu;tag=2229\n"
    "Content-Length: 154\n"
    "Content-Type: application/sdp\n"
    "Contact: <sip:user@host198.example.com>\n\n",
    sdp("192.0.2.198"),
)
NOREASON = msg(
    "SIP/2.0 100 \n"  # the SP before CRLF is there, the reason phrase is empty
    "Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe\n"
    "Call-ID: noreason.asndj203insdf99223ndf\n"
    "CSeq: 35 INVITE\n"
    "From: <sip:user@example.com>;tag=39ansfi3\n"
    "To: <sip:user@example.edu>;tag=902jndnke3\n"
    "Content-Length: 0\n"
    "Contact: <sip:user@host105.example.com>\n\n"
)

VALID = {
    "wsinv": WSINV,
    "intmeth": INTMETH,
    "esc01": ESC01,
    "escnull": ESCNULL,
    "esc02": ESC02,
    "lwsdisp": LWSDISP,
    "longreq": LONGREQ,
    "dblreq": DBLREQ,
    "semiuri": SEMIURI,
    "transports": TRANSPORTS,
    "mpart01": MPART01,
    "unreason": UNREASON,
    "noreason": NOREASON,
}


# --------------------------------------------------------------------------- §3.1.2
INVALID: dict[str, tuple[bytes, int]] = {
    "badinv01": (
        msg(
            "INVITE sip:user@example.com SIP/2.0\n"
            "To: sip:j.user@example.com\n"
            "From: sip:caller@example.net;tag=134161461246\n"
            "Max-Forwards: 7\n"
            "Call-ID: badinv01.0ha0isndaksdjasdf3234nas\n"
            "CSeq: 8 INVITE\n"
            "Via: SIP/2.0/UDP 192.0.2.15;;,;,,\n"
            'Contact: "Joe" <sip:joe@example.org>;;;;\n'
            "Content-Length: 152\n"
            "Content-Type: application/sdp\n\n",
            sdp("192.0.2.15"),
        ),
        400,
    ),
    "clerr": (
        msg(
            "INVITE sip:user@example.com SIP/2.0\n"
            "Max-Forwards: 80\n"
            "To: sip:j.user@example.com\n"
            "From: sip:caller@example.net;tag=93942939o2\n"
            "Contact: <sip:caller@hungry.example.net>\n"
            "Call-ID: clerr.0ha0isndaksdjweiafasdk3\n"
            "CSeq: 8 INVITE\n"
            "Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bK-39234-23523\n"
            "Content-Type: application/sdp\n"
            "Content-Length: 9999\n\n",
            sdp("192.0.2.155"),
        ),
        400,
    ),
    "ncl": (
        msg(
            "INVITE sip:user@example.com SIP/2.0\n"
            "Max-Forwards: 254\n"
            "To: sip:j.user@example.com\n"
            "From: sip:caller@example.net;tag=32394234\n"
            "Call-ID: ncl.0ha0isndaksdj2193423r542w35\n"
            "CSeq: 0 INVITE\n"
            "Via: SIP/2.0/UDP 192.0.2.53;branch=z9hG4bKkdjuw\n"
            "Contact: <sip:caller@example53.example.net>\n"
            "Content-Type: application/sdp\n"
            "Content-Length: -999\n\n",
            sdp("192.0.2.53"),
        ),
        400,
    ),
    "scalar02": (
        msg(
            "REGISTER sip:example.com SIP/2.0\n"
            "Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bK342sdfoi3\n"
            "To: <sip:user@example.com>\n"
            "From: <sip:user@example.com>;tag=239232jh3\n"
            "CSeq: 36893488147419103232 REGISTER\n"
            "Call-ID: scalar02.23o0pd9vanlq3wnrlnewofjas9ui32\n"
            "Max-Forwards: 300\n"
            "Expires: 1" + "0" * 100 + "\n"
            "Contact: <sip:user@host129.example.com>\n"
            "  ;expires=280297596632815\n"
            "Content-Length: 0\n\n"
        ),
        400,
    ),
    "scalarlg": (
        msg(
            "SIP/2.0 503 Service Unavailable\n"
            "Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bKzzxdiwo34sw;received=192.0.2.129\n"
            "To: <sip:user@example.com>\n"
            "From: <sip:other@example.net>;tag=2easdjfejw\n"
            "CSeq: 9292394834772304023312 OPTIONS\n"
            "Call-ID: scalarlg.noase0of0234hn2qofoaf0232aewf2394r\n"
            "Retry-After: 949302838503028349304023988\n"
            'Warning: 1812 overture "In Progress"\n'
            "Content-Length: 0\n\n"
        ),
        400,
    ),
    "quotbal": (
        msg(
            "INVITE sip:user@example.com SIP/2.0\n"
            'To: "Mr. J. User <sip:j.user@example.com>\n'
            "From: sip:caller@example.net;tag=93334\n"
            "Max-Forwards: 10\n"
            "Call-ID: quotbal.aksdj\n"
            "Contact: <sip:caller@host59.example.net>\n"
            "CSeq: 8 INVITE\n"
            "Via: SIP/2.0/UDP 192.0.2.59:5050;branch=z9hG4bKkdjuw39234\n"
            "Content-Type: application/sdp\n"
            "Content-Length: 152\n\n",
            sdp("192.0.2.15"),
        ),
        400,
    ),
    "ltgtruri": (
        msg(
            "INVITE <sip:user@example.com> SIP/2.0\n"
            "To: sip:user@example.com\n"
            "From: sip:caller@example.net;tag=39291\n"
            "Max-Forwards: 23\n"
            "Call-ID: ltgtruri.1@192.0.2.5\n"
            "CSeq: 1 INVITE\n"
            "Via: SIP/2.0/UDP 192.0.2.5\n"
            "Contact: <sip:caller@host5.example.net>\n"
            "Content-Type: application/sdp\n"
            "Content-Length: 159\n\n",
            sdp("192.0.2.5", "3149328700 0"),
        ),
        400,
    ),
    "lwsruri": (
        msg(
            "INVITE sip:user@example.com; lr SIP/2.0\n"
            "To: sip:user@example.com;tag=3xfe-9921883-z9f\n"
            "From: sip:caller@example.net;tag=231413434\n"
            "Max-Forwards: 5\n"
            "Call-ID: lwsruri.asdfasdoeoi2323-asdfwrn23-asd834rk423\n"
            "CSeq: 2130706432 INVITE\n"
            "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKkdjuw2395\n"
            "Contact: <sip:caller@host1.example.net>\n"
            "Content-Type: application/sdp\n"
            "Content-Length: 159\n\n",
            sdp("192.0.2.1", "3149328700 0"),
        ),
        400,
    ),
    "lwsstart": (
        msg(
            "INVITE  sip:user@example.com  SIP/2.0\n"
            "Max-Forwards: 8\n"
            "To: sip:user@example.com\n"
            "From: sip:caller@example.net;tag=8814\n"
            "Call-ID: lwsstart.dfknq234oi243099adsdfnawe3@example.com\n"
            "CSeq: 1893884 INVITE\n"
            "Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bKkdjuw3923\n"
            "Contact: <sip:caller@host1.example.net>\n"
            "Content-Type: application/sdp\n"
            "Content-Length: 150\n\n",
            sdp(),
        ),
        400,
    ),
    "trws": (
        msg(
            "OPTIONS sip:remote-target@example.com SIP/2.0  \n"
            "Via: SIP/2.0/TCP host1.examle.com;branch=z9hG4bK299342093\n"
            "To: <sip:remote-target@example.com>\n"
            "From: <sip:local-resource@example.com>;tag=329429089\n"
            "Call-ID: trws.oicu34958239neffasdhr2345r\n"
            "Accept: application/sdp\n"
            "CSeq: 238923 OPTIONS\n"
            "Max-Forwards: 70\n"
            "Content-Length: 0\n\n"
        ),
        400,
    ),
    "escruri": (
        msg(
            "INVITE sip:user@example.com?Route=%3Csip:example.com%3E SIP/2.0\n"
            "To: sip:user@example.com\n"
            "From: sip:caller@example.net;tag=341518\n"
            "Max-Forwards: 7\n"
            "Contact: <sip:caller@host39923.example.net>\n"
            "Call-ID: escruri.23940-asdfhj-aje3br-234q098w-fawerh2q-h4n5\n"
            "CSeq: 149209342 INVITE\n"
            "Via: SIP/2.0/UDP host-of-the-hour.example.com;branch=z9hG4bKkdjuw\n"
            "Content-Type: application/sdp\n"
            "Content-Length: 150\n\n",
            sdp(),
        ),
        400,
    ),
    "baddate": (
        msg(
            "INVITE sip:user@example.com SIP/2.0\n"
            "To: sip:user@example.com\n"
            "From: sip:caller@example.net;tag=2234923\n"
            "Max-Forwards: 70\n"
            "Call-ID: baddate.239423mnsadf3j23lj42--sedfnm234\n"
            "CSeq: 1392934 INVITE\n"
            "Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw\n"
            "Date: Fri, 01 Jan 2010 16:00:00 EST\n"
            "Contact: <sip:caller@host5.example.net>\n"
            "Content-Type: application/sdp\n"
            "Content-Length: 150\n\n",
            sdp("192.0.2.5"),
        ),
        400,
    ),
    "regbadct": (
        msg(
            "REGISTER sip:example.com SIP/2.0\n"
            "To: sip:user@example.com\n"
            "From: sip:user@example.com;tag=998332\n"
            "Max-Forwards: 70\n"
            "Call-ID: regbadct.k345asrl3fdbv@10.0.0.1\n"
            "CSeq: 1 REGISTER\n"
            "Via: SIP/2.0/UDP 135.180.130.133:5060;branch=z9hG4bKkdjuw\n"
            "Contact: sip:user@example.com?Route=%3Csip:sip.example.com%3E\n"
            "l: 0\n\n"
        ),
        400,
    ),
    "badaspec": (
        msg(
            "OPTIONS sip:user@example.org SIP/2.0\n"
            "Via: SIP/2.0/UDP host4.example.com:5060;branch=z9hG4bKkdju43234\n"
            "Max-Forwards: 70\n"
            'From: "Bell, Alexander" <sip:a.g.bell@example.com>;tag=433423\n'
            'To: "Watson, Thomas" < sip:t.watson@example.org >\n'
            "Call-ID: badaspec.sdf0234n2nds0a099u23h3hnnw009cdkne3\n"
            "Accept: application/sdp\n"
            "CSeq: 3923239 OPTIONS\n"
            "l: 0\n\n"
        ),
        400,
    ),
    "baddn": (
        msg(
            "OPTIONS sip:t.watson@example.org SIP/2.0\n"
            "Via:     SIP/2.0/UDP c.example.com:5060;branch=z9hG4bKkdjuw\n"
            "Max-Forwards:      70\n"
            "From:    Bell, Alexander <sip:a.g.bell@example.com>;tag=43\n"
            "To:      Watson, Thomas <sip:t.watson@example.org>\n"
            "Call-ID: baddn.31415@c.example.com\n"
            "Accept: application/sdp\n"
            "CSeq:    3923239 OPTIONS\n"
            "l: 0\n\n"
        ),
        400,
    ),
    "badvers": (
        msg(
            "OPTIONS sip:t.watson@example.org SIP/7.0\n"
            "Via:     SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw\n"
            "Max-Forwards:     70\n"
            "From:    A. Bell <sip:a.g.bell@example.com>;tag=qweoiqpe\n"
            "To:      T. Watson <sip:t.watson@example.org>\n"
            "Call-ID: badvers.31417@c.example.com\n"
            "CSeq:    1 OPTIONS\n"
            "l: 0\n\n"
        ),
        505,
    ),
    "mismatch01": (
        msg(
            "OPTIONS sip:user@example.com SIP/2.0\n"
            "To: sip:j.user@example.com\n"
            "From: sip:caller@example.net;tag=34525\n"
            "Max-Forwards: 6\n"
            "Call-ID: mismatch01.dj0234sxdfl3\n"
            "CSeq: 8 INVITE\n"
            "Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw\n"
            "l: 0\n\n"
        ),
        400,
    ),
    "bigcode": (
        msg(
            "SIP/2.0 4294967301 better not break the receiver\n"
            "Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe\n"
            "Call-ID: bigcode.asdof3uj203asdnf3429uasdhfas3ehjasdfas9i\n"
            "CSeq: 353494 INVITE\n"
            "From: <sip:user@example.com>;tag=39ansfi3\n"
            "To: <sip:user@example.edu>;tag=902jndnke3\n"
            "Content-Length: 0\n"
            "Contact: <sip:user@host105.example.com>\n\n"
        ),
        400,
    ),
    # §3.3 semantics that a parser already catches
    "insuf": (
        msg(
            "INVITE sip:user@example.com SIP/2.0\n"
            "CSeq: 193942 INVITE\n"
            "Via: SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKkdj.insuf\n"
            "Content-Type: application/sdp\n"
            "l: 152\n\n",
            sdp("192.0.2.95"),
        ),
        400,
    ),
    "multi01": (
        msg(
            "INVITE sip:user@company.com SIP/2.0\n"
            "Contact: <sip:caller@host25.example.net>\n"
            "Via: SIP/2.0/UDP 192.0.2.25;branch=z9hG4bKkdjuw\n"
            "Max-Forwards: 70\n"
            "CSeq: 5 INVITE\n"
            "Call-ID: multi01.98asdh@192.0.2.1\n"
            "CSeq: 59 INVITE\n"
            "Call-ID: multi01.98asdh@192.0.2.2\n"
            "From: sip:caller@example.com;tag=3413415\n"
            "To: sip:user@example.com\n"
            "To: sip:other@example.net\n"
            "From: sip:caller@example.net;tag=2923420123\n"
            "Content-Type: application/sdp\n"
            "l: 154\n"
            "Contact: <sip:caller@host36.example.net>\n"
            "Max-Forwards: 5\n\n",
            sdp("192.0.2.25"),
        ),
        400,
    ),
    "mcl01": (
        msg(
            "OPTIONS sip:user@example.com SIP/2.0\n"
            "Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bK293423\n"
            "To: sip:user@example.com\n"
            "From: sip:other@example.net;tag=3923942\n"
            "Call-ID: mcl01.fhn2323orihawfdoa3o4r52o3irsdf\n"
            "CSeq: 15932 OPTIONS\n"
            "Content-Length: 13\n"
            "Max-Forwards: 60\n"
            "Content-Length: 5\n"
            "Content-Type: text/plain\n\n"
            "There's no way to know how many octets are supposed to be here.\n"
        ),
        400,
    ),
}

# Syntactically valid, refused (or not) by the UA for what they mean.
SEMANTIC: dict[str, tuple[bytes, int | None]] = {
    "mismatch02": (
        msg(
            "NEWMETHOD sip:user@example.com SIP/2.0\n"
            "To: sip:j.user@example.com\n"
            "From: sip:caller@example.net;tag=34525\n"
            "Max-Forwards: 6\n"
            "Call-ID: mismatch02.dj0234sxdfl3\n"
            "CSeq: 8 INVITE\n"
            "Contact: <sip:caller@host.example.net>\n"
            "Via: SIP/2.0/UDP host.example.net;branch=z9hG4bKkdjuw\n"
            "Content-Type: application/sdp\n"
            "l: 138\n\n",
            msg(
                "v=0\no=mhandley 29739 7272939 IN IP4 192.0.2.1\nc=IN IP4 192.0.2.1\n"
                "m=audio 49217 RTP/AVP 0 12\nm=video 3227 RTP/AVP 31\na=rtpmap:31 LPC\n"
            ),
        ),
        501,
    ),
    "bext01": (
        msg(
            "OPTIONS sip:user@example.com SIP/2.0\n"
            "To: sip:j_user@example.com\n"
            "From: sip:caller@example.net;tag=242etr\n"
            "Max-Forwards: 6\n"
            "Call-ID: bext01.0ha0isndaksdj\n"
            "Require: nothingSupportsThis, nothingSupportsThisEither\n"
            "Proxy-Require: noProxiesSupportThis, norDoAnyProxiesSupportThis\n"
            "CSeq: 8 OPTIONS\n"
            "Via: SIP/2.0/TLS fold-and-staple.example.com;branch=z9hG4bKkdjuw\n"
            "Content-Length: 0\n\n"
        ),
        420,
    ),
    "invut": (
        msg(
            "INVITE sip:user@example.com SIP/2.0\n"
            "Contact: <sip:caller@host5.example.net>\n"
            "To: sip:j.user@example.com\n"
            "From: sip:caller@example.net;tag=8392034\n"
            "Max-Forwards: 70\n"
            "Call-ID: invut.0ha0isndaksdjadsfij34n23d\n"
            "CSeq: 235448 INVITE\n"
            "Via: SIP/2.0/UDP somehost.example.com;branch=z9hG4bKkdjuw\n"
            "Content-Type: application/unknownformat\n"
            "Content-Length: 40\n\n"
            "<audio>\n"
            ' <pcmu port="443"/>\n'
            "</audio>\n"
        ),
        415,
    ),
    "unkscm": (
        msg(
            "OPTIONS nobodyKnowsThisScheme:totallyopaquecontent SIP/2.0\n"
            "To: sip:user@example.com\n"
            "From: sip:caller@example.net;tag=384\n"
            "Max-Forwards: 3\n"
            "Call-ID: unkscm.nasdfasser0q239nwsdfasdkl34\n"
            "CSeq: 3923423 OPTIONS\n"
            "Via: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw39234\n"
            "Content-Length: 0\n\n"
        ),
        416,
    ),
    "novelsc": (
        msg(
            "OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0\n"
            "To: sip:user@example.com\n"
            "From: sip:caller@example.net;tag=384\n"
            "Max-Forwards: 3\n"
            "Call-ID: novelsc.asdfasser0q239nwsdfasdkl34\n"
            "CSeq: 3923423 OPTIONS\n"
            "Via: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw39234\n"
            "Content-Length: 0\n\n"
        ),
        416,
    ),
    # a registrar would answer 400 (the To is no SIP AOR); we are not one: 405
    "unksm2": (
        msg(
            "REGISTER sip:example.com SIP/2.0\n"
            "To: isbn:2983792873\n"
            "From: <http://www.example.com>;tag=3234233\n"
            "Call-ID: unksm2.daksdj@hyphenated-host.example.com\n"
            "CSeq: 234902 REGISTER\n"
            "Max-Forwards: 70\n"
            "Via: SIP/2.0/UDP 192.0.2.21:5060;branch=z9hG4bKkdjuw\n"
            "Contact: <name:John_Smith>\n"
            "l: 0\n\n"
        ),
        405,
    ),
    "badbranch": (
        msg(
            "OPTIONS sip:user@example.com SIP/2.0\n"
            "To: sip:user@example.com\n"
            "From: sip:caller@example.org;tag=33242\n"
            "Max-Forwards: 3\n"
            "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK\n"
            "Accept: application/sdp\n"
            "Call-ID: badbranch.sadonfo23i420jv0as0derf3j3n\n"
            "CSeq: 8 OPTIONS\n"
            "l: 0\n\n"
        ),
        200,
    ),
    "zeromf": (
        msg(
            "OPTIONS sip:user@example.com SIP/2.0\n"
            "To: sip:user@example.com\n"
            "From: sip:caller@example.net;tag=3ghsd41\n"
            "Call-ID: zeromf.jfasdlfnm2o2l43r5u0asdfas\n"
            "CSeq: 39234321 OPTIONS\n"
            "Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bKkdjuw2349i\n"
            "Max-Forwards: 0\n"
            "Content-Length: 0\n\n"
        ),
        200,
    ),
    # a response nobody waits for: dropped, nothing goes back
    "bcast": (
        msg(
            "SIP/2.0 200 OK\n"
            "Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923\n"
            "Via: SIP/2.0/UDP 255.255.255.255;branch=z9hG4bK1saber23\n"
            "Call-ID: bcast.0384840201234ksdfak3j2erwedfsASdf\n"
            "CSeq: 35 INVITE\n"
            "From: sip:user@example.com;tag=11141343\n"
            "To: sip:user@example.edu;tag=2229\n"
            "Content-Length: 154\n"
            "Content-Type: application/sdp\n"
            "Contact: <sip:user@host28.example.com>\n\n",
            sdp("192.0.2.198"),
        ),
        None,
    ),
}


# --------------------------------------------------------------------------- parser
@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_messages_parse(name: str) -> None:
    message = parse(VALID[name])
    assert message.vias
    assert message.call_id


def test_wsinv_fields() -> None:
    m = parse(WSINV)
    assert isinstance(m, Request) and m.method == "INVITE"
    assert m.uri == "sip:vivekg@chair-dnrc.example.com;unknownparam"
    assert m.call_id == "wsinv.ndaksdj@192.0.2.1"
    assert m.cseq == (9, "INVITE")
    assert m.headers.get("Max-Forwards") == "0068"
    assert [(v.transport, v.host, v.branch) for v in m.vias] == [
        ("UDP", "192.0.2.2", "390skdjuw"),
        ("TCP", "spindle.example.com", "z9hG4bK9ikj8"),
        ("UDP", "192.168.255.111", "z9hG4bK30239"),
    ]
    assert m.to.uri == "sip:vivekg@chair-dnrc.example.com" and m.to.tag == "1918181833n"
    assert m.from_.display == 'J Rosenberg \\\\\\"' and m.from_.tag == "98asjd8"
    assert m.headers.get("Subject") == ""
    assert m.headers.get("NewFangledHeader") == "newfangled value continued newfangled value"
    assert m.headers.get("UnknownHeaderWithUnusualValue") == ";;,,;;,;"
    (contact,) = m.headers.get_all("Contact")
    addr = NameAddr.parse(contact)
    assert addr.display == 'Quoted string \\"\\"'
    assert addr.params == {"newparam": "newvalue", "secondparam": None, "q": "0.33"}
    assert len(m.body) == 150 and m.content_type == "application/sdp"


def test_intmeth_fields() -> None:
    m = parse(INTMETH)
    assert isinstance(m, Request) and m.method == INTMETH_METHOD
    assert m.cseq == (139122385, INTMETH_METHOD)
    assert m.call_id == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    uri = SipUri.parse(m.uri)
    assert uri.user == INTMETH_USER and uri.host == "example.com"
    assert uri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    assert uri.headers is None and str(uri) == m.uri
    assert m.to.display == "BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f"
    assert m.from_.display == "token1~` token2'+_ token3*%!.-"
    assert m.from_.tag == "_token~1'+`*%!-."
    assert m.from_.params["fromparam''~+*_!.-%"] == '"работающий"'
    assert m.headers.get("extensionHeader-!.%*+_`'~") == "\ufeff大停電"


def test_escaped_uris_are_kept_as_they_are() -> None:
    m = parse(ESC01)
    assert isinstance(m, Request) and m.call_id == "esc01.239409asdfakjkn23onasd0-3234"
    assert m.uri == "sip:sips%3Auser%40example.com@example.net"
    assert SipUri.parse(m.uri).user == "sips%3Auser%40example.com"
    assert m.to.uri == "sip:%75se%72@example.com"
    assert m.from_.uri == "sip:I%20have%20spaces@example.net"
    contact = NameAddr.parse(m.headers.get("Contact") or "")
    assert SipUri.parse(contact.uri).params == {"%6c%72": None, "n%61me": "v%61lue%25%34%31"}
    assert m.content_type == "application/sdp"  # "C:" is the compact Content-Type
    null = parse(ESCNULL)
    assert null.headers.get_all("Contact") == [
        "<sip:%00@host5.example.com>",
        "<sip:%00%00@host5.example.com>",
    ]


def test_esc02_percent_is_no_escape_in_method_or_header_name() -> None:
    m = parse(ESC02)
    assert isinstance(m, Request) and m.method == "RE%47IST%45R"
    assert m.to.display == "%Z%45"
    assert len(m.headers.get_all("Contact")) == 2  # C%6Fntact is another header
    assert m.headers.get("C%6Fntact") == "<sip:alias2@host2.example.com>"


def test_lwsdisp_display_name_without_space() -> None:
    m = parse(LWSDISP)
    assert m.from_.display == "caller" and m.from_.uri == "sip:caller@example.com"
    assert m.to.display is None and m.to.uri == "sip:user@example.com"
    assert m.call_id == "lwsdisp.1234abcd@funky.example.com"


def test_longreq_keeps_all_34_vias_in_order() -> None:
    m = parse(LONGREQ)
    vias = m.vias
    assert len(vias) == 34
    assert [v.host for v in vias[:33]] == [f"sip{n}.example.com" for n in range(33, 0, -1)]
    assert vias[-1].params["received"] == "192.0.2.5"
    assert SipUri.parse(m.to.uri).port == 6000
    assert len(m.body) == 150


def test_dblreq_over_udp_is_the_first_request_only() -> None:
    m = parse(DBLREQ)
    assert isinstance(m, Request) and m.method == "REGISTER" and m.body == b""
    framer = StreamFramer()
    out = framer.feed(DBLREQ)  # over TCP both are there
    assert [getattr(x, "method", None) for x in out] == ["REGISTER", "INVITE"]


def test_semiuri_transports_mpart_and_responses() -> None:
    semi = parse(SEMIURI)
    assert isinstance(semi, Request)
    assert SipUri.parse(semi.uri).user == "user;par=u%40example.net"
    assert len(semi.headers.get_all("Accept")) == 6
    assert [v.transport for v in parse(TRANSPORTS).vias] == [
        "UDP", "SCTP", "TLS", "UNKNOWN", "TCP",
    ]  # fmt: skip
    mpart = parse(MPART01)
    assert mpart.body == MPART01_BODY and len(mpart.body) == 553
    unreason = parse(UNREASON)
    assert isinstance(unreason, Response) and unreason.reason == UNREASON_PHRASE
    noreason = parse(NOREASON)
    assert isinstance(noreason, Response) and (noreason.status, noreason.reason) == (100, "")


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_messages_raise_parse_error(name: str) -> None:
    data, status = INVALID[name]
    with pytest.raises(SipParseError) as caught:
        parse(data)
    assert caught.value.status == status
    if not data.startswith(b"SIP/"):
        assert caught.value.request is not None, "a request must still be answerable"


@pytest.mark.parametrize("name", sorted(SEMANTIC))
def test_semantically_wrong_messages_parse(name: str) -> None:
    parse(SEMANTIC[name][0])


# --------------------------------------------------------------------------- over UDP
@pytest.fixture
async def ua() -> AsyncIterator[UserAgent]:
    agent = UserAgent("127.0.0.1", 0, timers=FAST)
    await agent.start(tcp=False)
    yield agent
    await agent.stop()


def _send(raw: Raw, data: bytes, port: int) -> None:
    raw.sock.sendto(data, ("127.0.0.1", port))


async def _final(raw: Raw, seconds: float = 1.0) -> list[Response]:
    return [r for r in await raw.responses(seconds) if r.status >= 200]


async def _final_for(raw: Raw, call_id: str, within: float = 3.0) -> list[Response]:
    """The final answers to ``call_id``, as soon as one came (a loaded machine may take
    longer than a fixed window); answers left over from earlier requests are skipped."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        finals = [r for r in await _final(raw, 0.1) if r.call_id == call_id]
        if finals:
            return finals
    return []


async def _options_ok(raw: Raw, port: int, n: int) -> None:
    raw.send(
        "OPTIONS sip:100@127.0.0.1 SIP/2.0\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{raw.port};branch=z9hG4bK-alive{n};rport\n"
        "From: <sip:alice@127.0.0.1>;tag=a1\nTo: <sip:100@127.0.0.1>\n"
        f"Call-ID: alive{n}\nCSeq: 1 OPTIONS\nMax-Forwards: 70\nContent-Length: 0\n\n",
        port,
    )
    # A retransmission of the refused INVITE's answer (Timer G: it was never ACKed)
    # may come first on a busy machine: the answer to this OPTIONS is the one we check.
    reply = await raw.recv()
    while reply.call_id != f"alive{n}":
        reply = await raw.recv()
    assert isinstance(reply, Response) and reply.status == 200


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("badinv01", "parameter"),
        ("clerr", "Content-Length"),
        ("ncl", "Content-Length"),
        ("scalar02", "CSeq"),
        ("quotbal", "quoted"),
        ("ltgtruri", "Request-URI"),
        ("lwsstart", "request line"),
        ("trws", "request line"),
        ("escruri", "Request-URI"),
        ("baddate", "Date"),
        ("badaspec", "URI"),
        ("baddn", "display name"),
        ("mismatch01", "CSeq"),
        ("insuf", "missing"),
        ("multi01", "more than one"),
        ("mcl01", "Content-Length"),
    ],
)
async def test_parse_errors_are_answered_400_with_the_reason(
    ua: UserAgent, name: str, reason: str
) -> None:
    data, _ = INVALID[name]
    raw = Raw()
    try:
        _send(raw, data, ua.port)
        # read by hand: the 400 copies the request's Vias, malformed ones included
        loop = asyncio.get_running_loop()
        answer = await asyncio.wait_for(loop.sock_recv(raw.sock, 65535), 2)
        status_line = answer.split(b"\r\n", 1)[0].decode()
        assert status_line.startswith("SIP/2.0 400 Bad Request (")
        assert reason in status_line
        await _options_ok(raw, ua.port, 1)
    finally:
        raw.close()


async def test_unknown_version_is_answered_505(ua: UserAgent) -> None:
    raw = Raw()
    try:
        _send(raw, INVALID["badvers"][0], ua.port)
        loop = asyncio.get_running_loop()
        answer = await asyncio.wait_for(loop.sock_recv(raw.sock, 65535), 2)
        assert answer.startswith(b"SIP/2.0 505 Version Not Supported\r\n")
        assert b"\r\nCall-ID: badvers.31417@c.example.com\r\n" in answer
        await _options_ok(raw, ua.port, 1)
    finally:
        raw.close()


async def test_bad_responses_are_dropped_silently(ua: UserAgent) -> None:
    raw = Raw()
    try:
        for name in ("scalarlg", "bigcode"):
            _send(raw, INVALID[name][0], ua.port)
        _send(raw, SEMANTIC["bcast"][0], ua.port)
        _send(raw, UNREASON, ua.port)
        _send(raw, NOREASON, ua.port)
        assert await raw.responses(0.3) == []
        await _options_ok(raw, ua.port, 2)
    finally:
        raw.close()


@pytest.mark.parametrize("name", [n for n, (_, s) in SEMANTIC.items() if s is not None])
async def test_semantic_refusals_by_the_ua(ua: UserAgent, name: str) -> None:
    data, status = SEMANTIC[name]
    raw = Raw()
    try:
        _send(raw, data, ua.port)
        finals = await _final(raw, 0.5)
        assert [r.status for r in finals][:1] == [status]
        if status == 420:
            assert finals[0].headers.get_all("Unsupported") == [
                "nothingSupportsThis",
                "nothingSupportsThisEither",
            ]
        await _options_ok(raw, ua.port, 3)
    finally:
        raw.close()


async def test_valid_torture_requests_get_an_answer(ua: UserAgent) -> None:
    raw = Raw()
    try:
        expected = {
            "wsinv": 481, "intmeth": 501, "esc01": 480, "escnull": 405, "esc02": 501,
            "lwsdisp": 200, "longreq": 480, "dblreq": 405, "semiuri": 200,
            "transports": 200, "mpart01": 405,
        }  # fmt: skip
        for name, status in expected.items():
            _send(raw, VALID[name], ua.port)
            finals = await _final_for(raw, parse(VALID[name]).call_id)
            assert [r.status for r in finals][:1] == [status], name
    finally:
        raw.close()


# --------------------------------------------------------------------------- fuzzing
INVITE = msg(
    "INVITE sip:100@192.0.2.1 SIP/2.0\n"
    "Via: SIP/2.0/UDP 192.0.2.2:5060;branch=z9hG4bK-f1;rport\n"
    'From: "Alice" <sip:alice@192.0.2.2>;tag=a1\n'
    "To: <sip:100@192.0.2.1>\n"
    "Call-ID: fuzz@192.0.2.2\n"
    "CSeq: 1 INVITE\n"
    "Max-Forwards: 70\n"
    "Contact: <sip:alice@192.0.2.2:5060>\n"
    "Content-Type: application/sdp\n"
    "Content-Length: 150\n\n",
    sdp(),
)


def _parse_or_error(data: bytes, *, stream: bool = False) -> None:
    try:
        parse(data, stream=stream)
    except SipParseError as exc:
        assert exc.status in (400, 505, 513)
        assert exc.reason


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_never_raise_anything_else(data: bytes) -> None:
    _parse_or_error(data)
    _parse_or_error(b"INVITE sip:a@b SIP/2.0\r\n" + data)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(INVITE)
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "truncate", "dup", "delete", "insert"]))
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif kind == "truncate":
            del data[i:]
        elif kind == "delete":
            del data[i : i + draw(st.integers(1, 20))]
        elif kind == "insert":
            junk = [b" ", b"\r\n", b";", b",", b"<", b'"', b"\x00", b":"]
            data[i:i] = draw(st.sampled_from(junk))
        else:
            lines = bytes(data).split(b"\r\n")
            j = draw(st.integers(0, len(lines) - 1))
            lines.insert(j, lines[j])
            data = bytearray(b"\r\n".join(lines))
    return bytes(data)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_invite_never_raises_anything_else(data: bytes) -> None:
    _parse_or_error(data)
    _parse_or_error(data, stream=True)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, len(INVITE) + len(ESC01) - 1), max_size=12, unique=True))
def test_stream_framer_any_chunking_gives_the_same_two_messages(cuts: list[int]) -> None:
    stream = INVITE + ESC01
    bounds = [0, *sorted(cuts), len(stream)]
    framer = StreamFramer()
    out: list[object] = []
    for a, b in itertools.pairwise(bounds):
        out += framer.feed(stream[a:b])
    assert len(out) == 2
    first, second = out
    assert isinstance(first, Request) and isinstance(second, Request)
    assert first.call_id == "fuzz@192.0.2.2" and first.body == parse(INVITE).body
    assert second.call_id == "esc01.239409asdfakjkn23onasd0-3234" and len(second.body) == 150


def test_pathological_inputs_stay_fast() -> None:
    started = time.monotonic()
    for value in (" " * 60_000 + '"', '"' + " " * 60_000, " " * 30_000 + "<" + " " * 30_000):
        data = msg(f"OPTIONS sip:a@b SIP/2.0\nFrom: {value}\n\n")
        _parse_or_error(data)
    _parse_or_error(msg("OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/UDP a" + " " * 60_000 + "x\n\n"))
    _parse_or_error(msg("OPTIONS sip:a@b SIP/2.0\nExpires: " + "9" * 60_000 + "\n\n"))
    assert time.monotonic() - started < 2
