"""`make run`: the demo on loopback - simulator, exporter, Prometheus, Alertmanager.

Prints the URLs to open and the commands to try; Ctrl-C stops everything.
"""
import argparse
import glob
import os
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import scenario  # noqa: E402
import stack  # noqa: E402

ROOT = stack.ROOT
BUILD = os.environ.get("PE_BUILD", os.path.join(ROOT, "build"))


def demo_rules(workdir):
    """The shipped rules with `for:` shortened so alerts show within a minute (demo only)."""
    out = os.path.join(workdir, "rules")
    os.makedirs(out, exist_ok=True)
    subprocess.run([sys.executable, os.path.join(ROOT, "tests", "rules", "shorten_for.py"), out], check=True,
                   stdout=subprocess.DEVNULL)
    return sorted(glob.glob(os.path.join(out, "*.yml")))


def report_args(prometheus_url, range_="10m", step="10s"):
    """`persistencectl report` of the demo's own Prometheus: a short history, scraped every 5 s,
    so short steps. The windows before the demo started are unknown (nothing was recorded)."""
    return ["report", "--prometheus.url=" + prometheus_url, "--range=" + range_, "--step=" + step]


def drill(workdir, config):
    """One restore drill of the demo's target against the simulator, so the page shows it."""
    log = os.path.join(workdir, "drill.log")
    with open(log, "w") as f:
        p = subprocess.run([os.path.join(BUILD, "persistencectl"), "restore-test", "--config.file=" + config,
                            "--target=" + scenario.DRILL_TARGET, "--boot", "--execute", "--poll-interval=250ms"],
                           stdout=f, stderr=subprocess.STDOUT, timeout=120)
    return p.returncode, log


def start(workdir, scenario_name="restore", interval="5s"):
    st = stack.Stack(workdir, keep=True)
    try:
        st.start_sim(scenario_name)
        config, flags = scenario.build(os.path.join(workdir, "demo"), st.sim_url, st.docker_socket, scenario_name)
        st.config = config
        st.flags = flags
        st.drill_rc, st.drill_log = drill(workdir, config)
        st.start_exporter(os.path.join(BUILD, "persistence_exporter"), config, flags)
        st.start_alertmanager()
        st.start_prometheus(demo_rules(workdir), interval)
    except Exception:
        st.stop()
        raise
    return st


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scenario", default="restore", choices=["restore", "seed", "incident", "healthy"],
                    help="restore: the incident plus unrestorable backups (default); seed: the seed incident "
                         "alone (17/20); incident: seed plus the PBS problems; healthy")
    ap.add_argument("--workdir", default=os.path.join(ROOT, ".demo"))
    args = ap.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    os.makedirs(args.workdir)
    st = start(args.workdir, args.scenario)
    ctl = os.path.join(BUILD, "persistencectl")
    print("""
persistence_exporter demo (%s scenario) is running. Open:

  status page      %s/
  metrics          %s/metrics
  Prometheus       %s/alerts   (alerts fire within about a minute)
  Alertmanager     %s/#/alerts

A restore drill of %s ran against the simulator (%s; log: %s).

Try:
  %s status --config.file=%s %s
  %s restore-test --config.file=%s --target=home-lxc-105 --boot
  %s restore-test --config.file=%s --target=home-lxc-105 --boot --execute
  %s vzdump --config.file=%s --source=home --vmid=105 --restart-scheduler
  %s vzdump --config.file=%s --source=home --vmid=105 --restart-scheduler --execute --wait

The compliance report of this demo's own Prometheus (add --format=html > report.html for the page):
  %s %s

Logs and data: %s   (Ctrl-C stops everything)
""" % (args.scenario, st.exporter_url, st.exporter_url, st.prometheus_url, st.alertmanager_url,
       scenario.DRILL_TARGET, "OK" if st.drill_rc == 0 else "FAILED, exit %d" % st.drill_rc, st.drill_log,
       ctl, st.config, " ".join(st.flags), ctl, st.config, ctl, st.config,
       ctl, st.config, ctl, st.config, ctl, " ".join(report_args(st.prometheus_url)), args.workdir), flush=True)
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    try:
        while not stop:
            for name, p, _ in st.procs:
                if p.poll() is not None:
                    print("%s exited with %s; see %s/%s.log" % (name, p.returncode, args.workdir, name))
                    stop.append(1)
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    print("stopping...")
    st.stop()


if __name__ == "__main__":
    main()
