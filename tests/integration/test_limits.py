"""Server limits on the real binary: a slowloris from one address does not starve a scraper from another.

The unit suite (tests/unit/test_http.c: test_per_ip_limit, test_idle_timeout_and_header_cap) covers the
mechanisms with small limits; this checks the daemon's defaults end to end."""
import socket
import tempfile
import time
import unittest

from harness import Exporter, Sim, pve_source_yaml, write_secret, PVE_SECRET

CONFIG = """
global:
  scrape_timeout: 3s
  cache_ttl: 0s
pve:
{pve}"""


class SlowlorisTest(unittest.TestCase):
    def test_idle_sockets_from_one_address_do_not_starve_a_scraper(self):
        with Sim("healthy") as sim, tempfile.TemporaryDirectory() as d:
            write_secret(d, "home.token", PVE_SECRET % "home")
            cfg = CONFIG.format(pve=pve_source_yaml(sim, "home").format(secret_dir=d))
            with Exporter(cfg) as exp:
                socks = []
                try:
                    # far more than the connection limit, each sending half a request line and stalling
                    for _ in range(150):
                        s = socket.socket()
                        s.bind(("127.0.0.2", 0))
                        s.settimeout(2)
                        try:
                            s.connect(("127.0.0.1", exp.port))
                            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
                        except OSError:
                            s.close()
                            continue
                        socks.append(s)
                    self.assertGreater(len(socks), 30)
                    start = time.monotonic()
                    body = exp.metrics(headers={"X-Prometheus-Scrape-Timeout-Seconds": "3"}, timeout=15)
                    # generous bound: the scrape deadline is 3 s; starvation would wait for the 30 s idle timeout
                    self.assertLess(time.monotonic() - start, 10)
                    self.assertIn('persistence_source_up{source="home",kind="pve"} 1', body)
                    # the health check from a third address still answers too
                    self.assertEqual(exp.get("/-/healthy", timeout=15)[0], 200)
                finally:
                    for s in socks:
                        s.close()
                self.assertIsNone(exp.proc.poll())


if __name__ == "__main__":
    unittest.main()
