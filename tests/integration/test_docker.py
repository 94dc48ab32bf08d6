"""The Docker collector against the simulator's Engine API on a unix socket: mount kinds, failures, permissions."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest
import urllib.request

from harness import EXPORTER, Exporter, Sim, parse_metrics, promtool_check, samples, value, wait_for

CONFIG = """
global:
  scrape_timeout: 5s
  cache_ttl: 0s
docker:
  - name: comms
    socket: {socket}
    timeout: 1s
"""

STALWART = "communications-stack-stalwart-1"
REDIS = "communications-stack-redis-1"
ROUNDCUBE = "communications-stack-roundcube-1"
CERTBOT = "communications-stack-certbot-1"
MOUNT_INFO = "persistence_docker_container_mount_info"


def docker_lines(text):
    return [l for l in text.splitlines() if l.startswith("persistence_docker_")]


class DockerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("incident")
        cls.exp = Exporter(CONFIG.format(socket=cls.sim.docker_socket))

    @classmethod
    def tearDownClass(cls):
        cls.exp.close()
        cls.sim.close()

    def setUp(self):
        self.sim.clear_faults()

    def test_mount_kinds_of_the_communications_stack(self):
        text = self.exp.metrics()
        promtool_check(text)
        self.assertEqual(value(text, "persistence_source_up", source="comms", kind="docker"), 1)
        # the mail server's data is on a named volume, not an anonymous one
        self.assertEqual(value(text, MOUNT_INFO, source="comms", container=STALWART, destination="/opt/stalwart",
                               mount_type="volume", volume="communications-stack_stalwart-data"), 1)
        self.assertEqual(value(text, "persistence_docker_anonymous_volumes", source="comms", container=STALWART), 0)
        # redis keeps /data on an anonymous volume and counts as stateful: the alert's two inputs
        self.assertEqual(value(text, MOUNT_INFO, source="comms", container=REDIS, destination="/data",
                               mount_type="anonymous"), 1)
        self.assertEqual(value(text, "persistence_docker_anonymous_volumes", source="comms", container=REDIS), 1)
        self.assertEqual(value(text, "persistence_docker_container_stateful", source="comms", container=REDIS), 1)
        # a read-only bind and a tmpfs: not stateful; the stopped certbot is listed too
        self.assertEqual(value(text, "persistence_docker_container_stateful", source="comms", container=ROUNDCUBE), 0)
        self.assertEqual(value(text, MOUNT_INFO, source="comms", container=ROUNDCUBE, destination="/tmp",
                               mount_type="tmpfs", volume=""), 1)
        self.assertEqual(value(text, MOUNT_INFO, source="comms", container=CERTBOT, destination="/etc/letsencrypt",
                               mount_type="bind", volume=""), 1)
        # the alert expression (rules/docker.rules.yml) selects exactly redis
        anon = {l["container"] for n, l, v in _parse(text)
                if n == "persistence_docker_anonymous_volumes" and v > 0}
        stateful = {l["container"] for n, l, v in _parse(text)
                    if n == "persistence_docker_container_stateful" and v == 1}
        self.assertEqual(anon & stateful, {REDIS})

    def test_unversioned_paths_with_stopped_containers(self):
        self.sim.control("POST", "/_sim/stats/reset")
        text = self.exp.metrics()
        # one request each, without an API version prefix (docs/docker.md says why)
        self.assertEqual(self.sim.stats(), {"/containers/json": 1, "/volumes": 1})
        # all=1: the exited certbot is listed
        self.assertEqual(len(samples(text, "persistence_docker_container_stateful", container=CERTBOT)), 1)

    def test_engine_failures_take_the_source_down_without_mount_samples(self):
        cases = [
            ({"body": "html"}, "HTML"),
            ({"body": "truncated"}, "truncated"),
            ({"status": 500}, "HTTP 500"),
            ({"delay": 3}, "timed out"),
        ]
        for fault, why in cases:
            with self.subTest(fault=fault):
                self.sim.clear_faults()
                self.sim.fault(r"^(/v[0-9.]+)?/containers/json", **fault)
                text = self.exp.metrics()
                self.assertEqual(value(text, "persistence_source_up", source="comms", kind="docker"), 0)
                self.assertEqual(docker_lines(text), [], "partial Docker metrics under %s" % fault)
                status, _, page = self.exp.get("/status")
                self.assertEqual(status, 200)
                self.assertIn(why, page)
        self.sim.clear_faults()
        text = self.exp.metrics()
        self.assertEqual(value(text, "persistence_source_up", source="comms", kind="docker"), 1)

    def test_volumes_failure_alone_is_a_failure(self):
        self.sim.fault(r"^(/v[0-9.]+)?/volumes", status=500)
        text = self.exp.metrics()
        self.assertEqual(value(text, "persistence_source_up", source="comms", kind="docker"), 0)
        self.assertEqual(docker_lines(text), [])


class DockerSocketTest(unittest.TestCase):
    def test_missing_socket(self):
        d = tempfile.mkdtemp(prefix="pe-nosock-")
        try:
            sock = os.path.join(d, "docker.sock")
            with Exporter(CONFIG.format(socket=sock)) as exp:
                text = exp.metrics()
                self.assertEqual(value(text, "persistence_source_up", source="comms", kind="docker"), 0)
                self.assertEqual(docker_lines(text), [])
                want = "docker socket %s not found: is Docker running?" % sock
                wait_for(lambda: want in exp.log_text(), 5, what="the not-found log line")
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_permission_denied(self):
        """A socket the exporter's user may not write: as root, run the exporter as nobody."""
        with Sim("incident") as sim:
            os.chmod(sim.dir, 0o755)
            os.chmod(sim.docker_socket, 0o600)
            d = tempfile.mkdtemp(prefix="pe-perm-")
            try:
                os.chmod(d, 0o755)
                cfg = os.path.join(d, "config.yml")
                with open(cfg, "w") as f:
                    f.write(CONFIG.format(socket=sim.docker_socket))
                os.chmod(cfg, 0o644)
                if os.geteuid() == 0:
                    self.assertTrue(shutil.which("setpriv"), "setpriv (util-linux) is needed to drop root")
                    prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
                else:
                    os.chmod(sim.docker_socket, 0o000)  # the owner is refused too
                    prefix = []
                log_path = os.path.join(d, "exporter.log")
                with open(log_path, "w+") as log:
                    proc = subprocess.Popen(prefix + [EXPORTER, "--config.file=" + cfg,
                                                      "--web.listen-address=127.0.0.1:0"],
                                            stdout=log, stderr=subprocess.STDOUT)
                    try:
                        want = ("permission denied on %s: add the exporter's user to the docker group"
                                % sim.docker_socket)
                        port = wait_for(lambda: _port(log_path, proc), 15, what="exporter listening")
                        text = _get_metrics(port)
                        self.assertIn('persistence_source_up{source="comms",kind="docker"} 0', text)
                        self.assertEqual(docker_lines(text), [])
                        wait_for(lambda: want in open(log_path).read(), 5, what="the permission log line")
                    finally:
                        proc.terminate()
                        proc.wait(10)
            finally:
                shutil.rmtree(d, ignore_errors=True)


def _port(log_path, proc):
    if proc.poll() is not None:
        raise AssertionError("exporter exited %s: %s" % (proc.returncode, open(log_path).read()))
    m = re.search(r"msg=listening .*port=(\d+)", open(log_path).read())
    return m.group(1) if m else None


def _get_metrics(port):
    with urllib.request.urlopen("http://127.0.0.1:%s/metrics" % port, timeout=30) as r:
        return r.read().decode()


def _parse(text):
    return parse_metrics(text)


if __name__ == "__main__":
    unittest.main()
