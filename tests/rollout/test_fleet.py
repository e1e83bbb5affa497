"""Naming the replicas (compiler/rollout/fleet.py) against a real DNS server on loopback, the
wave plan, and reading Triton's failure counters (compiler/rollout/metrics.py)."""
import pytest

from compiler.errors import FatalError
from compiler.rollout.fleet import Replica, expand, fleet, waves
from compiler.rollout.metrics import parse_failures, rises
from tests.support.dns_server import DnsServer


@pytest.fixture(scope="module")
def dns_server():
    with DnsServer({"triton.ml.svc.cluster.local": ["127.0.0.3", "127.0.0.1", "127.0.0.2", "::1"],
                    "one.test": ["127.0.0.9"]}) as server:
        yield server


def test_a_dns_name_is_every_address_it_resolves_to(dns_server):
    replicas = expand("dns+grpc://triton.ml.svc.cluster.local:8001", dns_server.address, metrics_port=9002)
    assert [r.url for r in replicas] == ["grpc://127.0.0.1:8001", "grpc://127.0.0.2:8001", "grpc://127.0.0.3:8001",
                                         "grpc://[::1]:8001"]
    assert replicas[0].metrics_url == "http://127.0.0.1:9002/metrics"
    assert replicas[3].metrics_url == "http://[::1]:9002/metrics"
    assert {r.source for r in replicas} == {"dns+grpc://triton.ml.svc.cluster.local:8001"}
    # both record types were asked of the server named, not the system's resolver
    assert ("triton.ml.svc.cluster.local.", "A") in dns_server.queries
    assert ("triton.ml.svc.cluster.local.", "AAAA") in dns_server.queries


def test_dns_http_gets_the_default_port(dns_server):
    assert [r.url for r in expand("dns+http://one.test", dns_server.address)] == ["http://127.0.0.9:8000"]


def test_a_name_without_addresses_is_a_clear_error(dns_server):
    with pytest.raises(FatalError) as caught:
        expand("dns+grpc://nothing.test:8001", dns_server.address)
    assert "'nothing.test' resolves to no address" in caught.value.message
    assert "headless Service" in caught.value.hint


def test_urls_files_and_target_servers_each_replica_once(tmp_path, dns_server):
    listing = tmp_path / "servers.txt"
    listing.write_text("# the fleet\nhttp://127.0.0.2:8000\n\ngrpc://10.0.0.1:8001  # gpu node\n")
    replicas = fleet(["127.0.0.1:8000", "http://127.0.0.2:8000"], listing, ["grpc://ignored:8001"])
    assert [r.url for r in replicas] == ["http://127.0.0.1:8000", "http://127.0.0.2:8000", "grpc://10.0.0.1:8001"]
    # the target's servers count only when nothing else names one
    assert [r.url for r in fleet((), None, ["dns+http://one.test:8000"], dns_server.address)] == \
        ["http://127.0.0.9:8000"]


def test_no_server_and_bad_urls_are_clear_errors(tmp_path):
    with pytest.raises(FatalError) as caught:
        fleet((), None, ())
    assert "--triton-url" in caught.value.hint and "servers:" in caught.value.hint
    with pytest.raises(FatalError) as caught:
        expand("ftp://host:21")
    assert "unknown scheme 'ftp'" in caught.value.message
    empty = tmp_path / "empty.txt"
    empty.write_text("# nobody\n")
    with pytest.raises(FatalError) as caught:
        fleet((), empty)
    assert "lists no server" in caught.value.message


def _names(plan):
    return [(kind, [r.url for r in members]) for kind, members in plan]


def test_waves_canary_first_then_max_unavailable_at_a_time():
    replicas = [Replica(f"http://h{i}:8000", "x", "") for i in range(1, 6)]
    assert _names(waves(replicas, 1, 2)) == [("canary", ["http://h1:8000"]),
                                             ("wave", ["http://h2:8000", "http://h3:8000"]),
                                             ("wave", ["http://h4:8000", "http://h5:8000"])]
    assert _names(waves(replicas, 0, 5)) == [("wave", [r.url for r in replicas])]
    # a canary larger than --max-unavailable is split too: never more than that many at once
    assert [len(m) for _, m in waves(replicas, 3, 2)] == [2, 1, 2]
    with pytest.raises(FatalError):
        waves(replicas, 1, 0)


METRICS = """# HELP nv_inference_request_failure Number of failed inference requests, all batch sizes
# TYPE nv_inference_request_failure counter
nv_inference_request_failure{model="add",reason="BACKEND",version="1"} 2
nv_inference_request_failure{model="add",version="2"} 5
nv_inference_request_failure{model="echo",version="1"} 0
nv_inference_request_success{model="add",version="2"} 40
"""


def test_failure_counters_are_summed_per_model_and_compared():
    before = parse_failures(METRICS)
    assert before == {"add": 7.0, "echo": 0.0}
    after = parse_failures(METRICS.replace('version="2"} 5', 'version="2"} 9'))
    assert rises(before, after, {"add", "echo"}) == {"add": 4.0}
    assert rises(before, after, {"echo"}) == {}
