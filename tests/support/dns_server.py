"""A real DNS server on loopback for tests: UDP on 127.0.0.1, answering with dnspython's
message API (wire format in, wire format out), as a Kubernetes headless Service's DNS does:
one A record per ready pod.

    with DnsServer({"triton.test.": ["127.0.0.1", "127.0.0.2"]}) as dns_server:
        dns_server.address  # "127.0.0.1:PORT", for --nameserver
"""
from __future__ import annotations

import socket
import threading

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset


class DnsServer:
    def __init__(self, records: dict):
        self.records = {name.lower().rstrip(".") + ".": list(ips) for name, ips in records.items()}
        self.queries: list = []  # (name, type) asked, in order
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self._sock.getsockname()[1]}"

    def _answer(self, query):
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        question = query.question[0]
        name = question.name.to_text().lower()
        self.queries.append((name, dns.rdatatype.to_text(question.rdtype)))
        ips = self.records.get(name)
        if ips is None:
            response.set_rcode(dns.rcode.NXDOMAIN)
            return response
        kind = "AAAA" if question.rdtype == dns.rdatatype.AAAA else "A"
        wanted = [ip for ip in ips if (":" in ip) == (kind == "AAAA")]
        if question.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA) and wanted:
            response.answer.append(dns.rrset.from_text_list(question.name, 5, "IN", kind, wanted))
        return response  # NOERROR with no answer: the name exists, not with this type

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self._sock.recvfrom(4096)
            except (TimeoutError, OSError):
                continue
            try:
                query = dns.message.from_wire(data)
            except Exception:  # noqa: BLE001 - not DNS: ignore it, as a server would
                continue
            self._sock.sendto(self._answer(query).to_wire(), peer)

    def __enter__(self) -> DnsServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._sock.close()
