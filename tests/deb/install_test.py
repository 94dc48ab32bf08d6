#!/usr/bin/env python3
"""install_test.py - the Debian package, installed the way a PVE admin does it.

Builds the package (deploy/build-deb.sh, lintian must be clean) and a rebuilt one with a bumped
version, then in a fresh Debian bookworm root (debootstrap minbase, cached under BUILD/deb-root/):
apt-get install ./<deb>; --version; the user, group and directories; the unit enabled and not
started; --config.check on the shipped config as the service user; the daemon started as that
user with the unit's own arguments (and /etc/default's ARGS) in a private network namespace,
/metrics scraped, SIGHUP reload, SIGTERM; the upgrade to the bumped package keeping locally
edited conffiles; apt-get purge --autoremove, after which nothing of the package is left but the
user and group (Debian keeps system users). Also: systemd-analyze security of the unit.

Needs root (debootstrap, chroot, unshare) and the Debian archive the host's apt uses. Prints
each check and ends with 'deb-test: N passed, N failed'. `make deb-test`; part of `make test`.
"""
import argparse
import glob
import os
import re
import shlex
import shutil
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SUITE = "bookworm"
PKG = "persistence-exporter"
USER = "persistence_exporter"
UNIT = "persistence_exporter.service"
MAX_EXPOSURE = 1.4  # systemd-analyze security of the unit before packaging
CACHE_FORMAT = "3"  # bump when the pristine root is made differently

# Paths that change whenever apt or dpkg run, whatever the package: not "ours".
VOLATILE = re.compile(
    r"^(var/lib/dpkg|var/lib/apt|var/cache|var/log|tmp|run|proc|dev|sys)(/|$)"
    r"|^etc/(passwd|group|shadow|gshadow)-?$"
    r"|^etc/ld\.so\.cache$"
)


class Fatal(Exception):
    pass


T_START = time.monotonic()


def log(msg):
    print("deb-test: [%4.0f s] %s" % (time.monotonic() - T_START, msg), flush=True)


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = []

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print("  ok    %s" % name, flush=True)
        else:
            self.failed.append(name)
            print("  FAIL  %s%s" % (name, (": " + detail) if detail else ""), flush=True)
        return ok


def run(cmd, timeout=900, check=True, env=None, input=None):
    """Runs cmd; returns (rc, combined output). A failure with check=True is fatal."""
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=timeout, env=env, input=input)
    if check and p.returncode != 0:
        raise Fatal("%s exited %d:\n%s" % (" ".join(cmd), p.returncode, p.stdout[-4000:]))
    return p.returncode, p.stdout


def host_mirrors():
    """(archive URI, security URI or None) of the host's apt sources for its own codename.

    PE_DEB_MIRROR / PE_DEB_SECURITY_MIRROR override them."""
    codename = ""
    with open("/etc/os-release") as f:
        for line in f:
            if line.startswith("VERSION_CODENAME="):
                codename = line.split("=", 1)[1].strip().strip('"')
    entries = []  # (uri, suite)
    for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
        if not os.path.exists(path):
            continue
        for line in open(path):
            words = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
            if len(words) >= 3 and words[0] == "deb":
                entries.append((words[1], words[2]))
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        for para in open(path).read().split("\n\n"):
            fields = {}
            for line in para.splitlines():
                m = re.match(r"^([A-Za-z-]+):\s*(.*)$", line)
                if m:
                    fields[m.group(1).lower()] = m.group(2)
            if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes") == "no":
                continue
            for uri in fields.get("uris", "").split():
                for suite in fields.get("suites", "").split():
                    entries.append((uri, suite))
    archive = os.environ.get("PE_DEB_MIRROR") or next((u for u, s in entries if s == codename), None)
    security = os.environ.get("PE_DEB_SECURITY_MIRROR") or next(
        (u for u, s in entries if s == codename + "-security"), None)
    if not archive:
        raise Fatal("no apt source for '%s' on this host: set PE_DEB_MIRROR to a Debian archive" % codename)
    return archive.rstrip("/"), security.rstrip("/") if security else None


def no_mounts_under(path):
    path = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mnt = line.split()[4]
            if mnt == path or mnt.startswith(path + "/"):
                raise Fatal("%s is still mounted; not removing %s" % (mnt, path))


def pristine_root(cache, timings):
    """The cached bookworm minbase root with its apt lists; made with debootstrap when missing."""
    archive, security = host_mirrors()
    stamp = "%s %s minbase %s %s\n" % (CACHE_FORMAT, SUITE, archive, security)
    root = os.path.join(cache, "pristine")
    stamp_file = os.path.join(cache, "pristine.stamp")
    if os.path.isdir(root) and os.path.exists(stamp_file) and open(stamp_file).read() == stamp:
        timings["root"] = "cached"
        return root
    t0 = time.monotonic()
    tmp = root + ".new"
    for d in (tmp, root):
        if os.path.exists(d):
            no_mounts_under(d)
            shutil.rmtree(d)
    os.makedirs(cache, exist_ok=True)
    log("debootstrap --variant=minbase %s (%s)" % (SUITE, archive))
    # ca-certificates: every PVE node has it (and libcurl recommends it); in the base it stays
    # out of the package's footprint, whose purge would leave its generated /etc/ssl links.
    run(["debootstrap", "--variant=minbase", "--include=ca-certificates", SUITE, tmp, archive],
        timeout=1800)
    lines = ["deb %s %s main" % (archive, SUITE), "deb %s %s-updates main" % (archive, SUITE)]
    if security:
        lines.append("deb %s %s-security main" % (security, SUITE))
    with open(os.path.join(tmp, "etc/apt/sources.list"), "w") as f:
        f.write("\n".join(lines) + "\n")
    shutil.copy("/etc/resolv.conf", os.path.join(tmp, "etc/resolv.conf"))
    in_root(tmp, ["apt-get", "-q", "update"], timeout=900)
    os.rename(tmp, root)
    with open(stamp_file, "w") as f:
        f.write(stamp)
    timings["root"] = "debootstrap %.0f s" % (time.monotonic() - t0)
    return root


def in_root(root, cmd, timeout=600, check=True, apt_cache=None, user=None):
    """Runs cmd chrooted in root, in private mount and PID namespaces with /proc mounted (all gone
    when it ends), a clean environment, optionally as user and with a persistent apt archive."""
    env = ["env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C.UTF-8", "HOME=/root",
           "DEBIAN_FRONTEND=noninteractive"]
    if user:  # "name" or "name:group"
        name, _, group = user.partition(":")
        cmd = ["setpriv", "--reuid=" + name, "--regid=" + (group or name), "--init-groups"] + cmd
    script = 'set -e\n'
    if apt_cache:
        script += 'mount --bind "$1" "$2/var/cache/apt/archives"\n'
    script += 'root=$2; shift 2; exec chroot "$root" "$@"\n'
    return run(["unshare", "--mount", "--pid", "--fork", "--mount-proc=" + os.path.join(root, "proc"),
                "sh", "-c", script, "sh", apt_cache or "-", root] + env + cmd,
               timeout=timeout, check=check)


def tree(root):
    """Every path under root (relative), without the volatile ones."""
    out = set()
    for d, dirs, files in os.walk(root):
        rel = os.path.relpath(d, root)
        for name in dirs + files:
            p = os.path.normpath(os.path.join(rel, name))
            if not VOLATILE.search(p):
                out.add(p)
    return out


def passwd_entry(root, name, path="etc/passwd"):
    for line in open(os.path.join(root, path)):
        f = line.rstrip("\n").split(":")
        if f[0] == name:
            return f
    return None


def owner(root, path):
    st = os.lstat(os.path.join(root, path.lstrip("/")))
    uid = next((f[0] for f in map(lambda l: l.split(":"), open(os.path.join(root, "etc/passwd")))
                if f[2] == str(st.st_uid)), str(st.st_uid))
    gid = next((f[0] for f in map(lambda l: l.split(":"), open(os.path.join(root, "etc/group")))
                if f[2] == str(st.st_gid)), str(st.st_gid))
    return "%s:%s %04o" % (uid, gid, st.st_mode & 0o7777)


def unit_command(root):
    """(user, argv) the unit runs: ExecStart with EnvironmentFile's variables expanded as systemd does."""
    text = open(os.path.join(root, "lib/systemd/system", UNIT)).read().replace("\\\n", " ")
    keys = {}
    for line in text.splitlines():
        m = re.match(r"^(\w+)=(.*)$", line.strip())
        if m:
            keys.setdefault(m.group(1), []).append(m.group(2))
    env = {}
    for ef in keys.get("EnvironmentFile", []):
        path = os.path.join(root, ef.lstrip("-").lstrip("/"))
        if not os.path.exists(path):
            continue
        for line in open(path):
            m = re.match(r'^\s*([A-Za-z_]\w*)=(.*)$', line)
            if m:
                env[m.group(1)] = (shlex.split(m.group(2)) or [""])[0]
    argv = []
    for word in shlex.split(keys["ExecStart"][0]):
        m = re.match(r"^\$([A-Za-z_]\w*)$", word)
        if m:  # $VAR: split on whitespace, nothing when empty
            argv += env.get(m.group(1), "").split()
        else:
            argv.append(re.sub(r"\$\{(\w+)\}", lambda mm: env.get(mm.group(1), ""), word))
    return keys["User"][0], argv


DAEMON_SCRIPT = r'''
root=$1 log=$2 user=$3; shift 3
ip link set lo up
chroot "$root" setpriv --reuid="$user" --regid="$user" --init-groups \
    env -i PATH=/usr/bin:/bin "$@" >"$log" 2>&1 &
pid=$!
get() { curl -sS --retry 30 --retry-delay 1 --retry-connrefused --max-time 20 "$@"; }
echo "ready: $(get http://127.0.0.1:9709/-/ready)"
echo "uid: $(awk '/^Uid:/ {print $2}' "$root/proc/$pid/status")"
get -o "$root/tmp/metrics.txt" -w 'metrics-status: %{http_code}\n' http://127.0.0.1:9709/metrics
kill -HUP $pid
i=0; while [ $i -lt 100 ] && ! grep -q 'config reloaded' "$log"; do sleep 0.1; i=$((i+1)); done
kill -TERM $pid
wait $pid; echo "exit: $?"
'''


def test_daemon(t, root, version):
    """Starts the daemon as the unit would (user, ExecStart, EnvironmentFile) and scrapes it."""
    user, argv = unit_command(root)
    t.check("the unit runs as %s" % USER, user == USER, user)
    t.check("the unit's ExecStart gets ARGS from /etc/default", "--log.format=json" in argv, str(argv))
    log = os.path.join(root, "tmp/daemon.log")
    rc, out = run(["unshare", "--net", "--mount", "--pid", "--fork",
                   "--mount-proc=" + os.path.join(root, "proc"),
                   "sh", "-c", DAEMON_SCRIPT, "sh", root, log, user] + argv, timeout=180, check=False)
    logtext = open(log).read() if os.path.exists(log) else "(no log)"
    uid = passwd_entry(root, USER)[2]
    t.check("the daemon answers /-/ready", "ready: OK" in out, out + logtext)
    t.check("the daemon runs as uid %s (%s)" % (uid, USER), "uid: %s\n" % uid in out, out)
    t.check("/metrics answers 200", "metrics-status: 200" in out, out)
    metrics = open(os.path.join(root, "tmp/metrics.txt")).read() if "metrics-status: 200" in out else ""
    t.check("/metrics has build_info for %s" % version,
            'persistence_exporter_build_info{version="%s"' % version in metrics, metrics[:2000])
    t.check("/metrics: the shipped config loaded", "persistence_config_last_reload_successful 1" in metrics)
    t.check("SIGHUP reloads the config", "config reloaded" in logtext, logtext)
    lines = [l for l in logtext.splitlines() if l.strip()]
    t.check("ARGS applied: the log is JSON", lines and all(l.startswith("{") for l in lines), logtext)
    t.check("SIGTERM stops it with exit 0", "exit: 0" in out, out + logtext)


def test_installed(t, root, version, deb_files):
    rc, out = in_root(root, ["dpkg-query", "-W", "-f=${Status} ${Version}", PKG])
    t.check("dpkg: %s %s installed" % (PKG, version), out.strip() == "install ok installed " + version, out)
    rc, out = in_root(root, ["persistence_exporter", "--version"], check=False)
    t.check("persistence_exporter --version says %s" % version,
            rc == 0 and out.startswith("persistence_exporter %s " % version), out)
    rc, out = in_root(root, ["persistencectl", "--version"], check=False)
    t.check("persistencectl --version says %s" % version,
            rc == 0 and out.startswith("persistencectl %s " % version), out)
    pw = passwd_entry(root, USER)
    t.check("system user %s: uid < 1000, home /var/lib/persistence_exporter, nologin" % USER,
            pw and int(pw[2]) < 1000 and pw[5] == "/var/lib/persistence_exporter"
            and pw[6] == "/usr/sbin/nologin", str(pw))
    t.check("group %s" % USER, passwd_entry(root, USER, "etc/group") is not None)
    t.check("/var/lib/persistence_exporter is the user's, 0750",
            owner(root, "/var/lib/persistence_exporter") == "%s:%s 0750" % (USER, USER),
            owner(root, "/var/lib/persistence_exporter"))
    t.check("/etc/persistence_exporter is root:%s 0750" % USER,
            owner(root, "/etc/persistence_exporter") == "root:%s 0750" % USER,
            owner(root, "/etc/persistence_exporter"))
    rc, out = in_root(root, ["dpkg-query", "-W", "-f=${Conffiles}", PKG])
    conffiles = sorted(l.split()[0] for l in out.splitlines() if l.strip())
    t.check("conffiles: config.yml and /etc/default", conffiles == [
        "/etc/default/persistence_exporter", "/etc/persistence_exporter/config.yml"], str(conffiles))
    link = os.path.join(root, "etc/systemd/system/multi-user.target.wants", UNIT)
    t.check("the unit is enabled (multi-user.target.wants)",
            os.path.islink(link) and os.readlink(link) == "/lib/systemd/system/" + UNIT)
    for path in deb_files:
        if not os.path.lexists(os.path.join(root, path)):
            t.check("%s is installed" % path, False)
            break
    else:
        t.check("every file of the .deb is installed (%d)" % len(deb_files), True)
    rc, out = in_root(root, ["persistence_exporter", "--config.file=/etc/persistence_exporter/config.yml",
                             "--config.check"], user=USER, check=False)
    t.check("--config.check of the shipped config, as %s" % USER,
            rc == 0 and "ok (0 pve, 0 pbs, 0 mounts, 0 n8n, 0 docker, 0 targets)" in out, out)
    rc, out = in_root(root, ["cat", "/etc/persistence_exporter/config.yml"], user="nobody:nogroup", check=False)
    t.check("other users cannot read the config", rc != 0, out)


def deb_listing(deb):
    """Paths of the .deb's regular files and links, relative (./usr/bin/x -> usr/bin/x)."""
    rc, out = run(["dpkg-deb", "-c", deb])
    paths = []
    for line in out.splitlines():
        if line.startswith("d"):
            continue
        name = line.split(None, 5)[5].split(" -> ")[0]
        paths.append(os.path.normpath(name))
    return paths


def test_static(t, deb):
    """What the .deb says before it is installed: the unit's exposure, the maintainer scripts."""
    tmp = os.path.join(os.path.dirname(deb), "inspect")
    shutil.rmtree(tmp, ignore_errors=True)
    run(["dpkg-deb", "-R", deb, tmp])
    unit = os.path.join(tmp, "lib/systemd/system", UNIT)
    rc, out = run(["systemd-analyze", "security", "--offline=yes", unit], check=False)
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", out)
    exposure = float(m.group(1)) if m else 99
    print("  systemd-analyze security --offline=yes: %s" % (m.group(0) if m else out[-500:]))
    t.check("unit exposure %.1f <= %.1f" % (exposure, MAX_EXPOSURE), exposure <= MAX_EXPOSURE, out[-2000:])
    postinst = open(os.path.join(tmp, "DEBIAN/postinst")).read()
    prerm = open(os.path.join(tmp, "DEBIAN/prerm")).read()
    t.check("postinst enables but never starts the unit (try-restart on upgrade only)",
            "deb-systemd-helper" in postinst and "try-restart" in postinst
            and not re.search(r"deb-systemd-invoke\s+(start|restart)\b", postinst), postinst)
    t.check("prerm stops the unit on removal", re.search(r"deb-systemd-invoke stop", prerm) is not None)
    preinst_path = os.path.join(tmp, "DEBIAN/preinst")
    preinst = open(preinst_path).read() if os.path.exists(preinst_path) else ""
    t.check("an upgrade does not stop the service first (it is try-restarted after)",
            "deb-systemd-invoke stop" not in preinst, preinst)
    shipped = open(os.path.join(tmp, "etc/persistence_exporter/config.yml")).read()
    rc, want = run(["awk", "-f", os.path.join(TOP, "deploy/config-shipped.awk"),
                    os.path.join(TOP, "deploy/config.example.yml")])
    t.check("the shipped config is deploy/config.example.yml with the sources commented out",
            shipped == want)
    shutil.rmtree(tmp)


def edit_conffiles(root):
    with open(os.path.join(root, "etc/persistence_exporter/config.yml"), "a") as f:
        f.write("# local edit by the install test\n")
    path = os.path.join(root, "etc/default/persistence_exporter")
    text = open(path).read()
    open(path, "w").write(text.replace('ARGS=""', 'ARGS="--log.format=json"'))


def test_upgrade(t, root, version, deb):
    shutil.copy(deb, os.path.join(root, "tmp"))
    in_root(root, ["apt-get", "-y", "-q", "install", "/tmp/" + os.path.basename(deb)], apt_cache=CACHE_APT)
    rc, out = in_root(root, ["persistence_exporter", "--version"], check=False)
    t.check("upgraded: --version says %s" % version, out.startswith("persistence_exporter %s " % version), out)
    cfg = open(os.path.join(root, "etc/persistence_exporter/config.yml")).read()
    t.check("upgrade kept the edited config.yml", cfg.endswith("# local edit by the install test\n"))
    dflt = open(os.path.join(root, "etc/default/persistence_exporter")).read()
    t.check("upgrade kept the edited /etc/default file", 'ARGS="--log.format=json"' in dflt)
    left = [p for p in glob.glob(os.path.join(root, "etc/**/*.dpkg-*"), recursive=True)]
    t.check("no .dpkg-new/.dpkg-dist/.dpkg-old files", not left, str(left))
    t.check("still enabled after the upgrade",
            os.path.islink(os.path.join(root, "etc/systemd/system/multi-user.target.wants", UNIT)))


def test_purge(t, root, before, deb_files):
    in_root(root, ["apt-get", "-y", "-q", "purge", "--autoremove", PKG], apt_cache=CACHE_APT)
    rc, out = in_root(root, ["dpkg-query", "-W", "-f=${Status}", PKG], check=False)
    t.check("purged: dpkg knows no %s" % PKG, rc != 0 or "not-installed" in out, out)
    after = tree(root)
    t.check("no file of the .deb is left", not [p for p in deb_files if p in after],
            str([p for p in deb_files if p in after]))
    added = sorted(after - before)
    t.check("nothing is left that was not there before the install", not added, "\n".join(added[:50]))
    removed = sorted(before - after)
    t.check("nothing that was there before is gone", not removed, "\n".join(removed[:50]))
    t.check("user and group %s kept (Debian keeps system users)" % USER,
            passwd_entry(root, USER) is not None and passwd_entry(root, USER, "etc/group") is not None)
    rc, out = in_root(root, ["dpkg-statoverride", "--list"], check=False)
    t.check("no dpkg-statoverride left", "persistence_exporter" not in out, out)


CACHE_APT = None


def main():
    global CACHE_APT
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(TOP, "build"), help="the build directory (make's B)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("deb-test: needs root (debootstrap, chroot, unshare); 0 passed, 1 failed", file=sys.stderr)
        return 1
    build = os.path.abspath(args.build)
    cache = os.path.join(build, "deb-root")
    CACHE_APT = os.path.join(cache, "apt-archives")
    os.makedirs(CACHE_APT, exist_ok=True)
    t = Checks()
    timings = {}
    t_start = time.monotonic()
    try:
        version = open(os.path.join(TOP, "VERSION")).read().strip()
        bumped = version + "+upgradetest1"
        arch = run(["dpkg", "--print-architecture"])[1].strip()
        run(["dpkg", "--compare-versions", bumped, "gt", version])

        t0 = time.monotonic()
        log("building %s %s (with lintian)" % (PKG, version))
        run([os.path.join(TOP, "deploy/build-deb.sh"), os.path.join(build, "deb")], timeout=1800)
        t.check("make deb: built, lintian clean (no error, no warning)", True)
        log("building %s %s (the upgrade)" % (PKG, bumped))
        env = dict(os.environ, DEB_BUILD_OPTIONS="nocheck")
        run([os.path.join(TOP, "deploy/build-deb.sh"), os.path.join(build, "deb-upgrade"),
             "--version", bumped, "--binary-only", "--no-lintian"], timeout=1800, env=env)
        timings["builds"] = "%.0f s" % (time.monotonic() - t0)
        deb1 = os.path.join(build, "deb", "%s_%s_%s.deb" % (PKG, version, arch))
        deb2 = os.path.join(build, "deb-upgrade", "%s_%s_%s.deb" % (PKG, bumped, arch))
        deb_files = deb_listing(deb1)
        test_static(t, deb1)

        t0 = time.monotonic()
        pristine = pristine_root(cache, timings)
        root = os.path.join(cache, "root")
        if os.path.exists(root):
            no_mounts_under(root)
            shutil.rmtree(root)
        run(["cp", "-a", "--reflink=auto", pristine, root])
        shutil.copy("/etc/resolv.conf", os.path.join(root, "etc/resolv.conf"))
        in_root(root, ["apt-get", "-q", "update"], timeout=900)
        before = tree(root)
        shutil.copy(deb1, os.path.join(root, "tmp"))
        log("apt-get install ./%s in a fresh %s root" % (os.path.basename(deb1), SUITE))
        in_root(root, ["apt-get", "-y", "-q", "install", "/tmp/" + os.path.basename(deb1)],
                apt_cache=CACHE_APT)
        test_installed(t, root, version, deb_files)
        edit_conffiles(root)
        log("the daemon, as the unit runs it")
        test_daemon(t, root, version)
        log("upgrade to %s" % bumped)
        test_upgrade(t, root, bumped, deb2)
        test_installed(t, root, bumped, deb_listing(deb2))
        log("apt-get purge --autoremove")
        test_purge(t, root, before, deb_files)
        timings["install test in the root"] = "%.0f s" % (time.monotonic() - t0)
    except Fatal as e:
        t.check("deb-test ran to the end", False, str(e))
    except subprocess.TimeoutExpired as e:
        t.check("deb-test ran to the end", False, "timed out: %s" % e)
    timings["total"] = "%.0f s" % (time.monotonic() - t_start)
    print("deb-test: times: " + ", ".join("%s %s" % kv for kv in timings.items()))
    print("deb-test: %d passed, %d failed" % (t.passed, len(t.failed)))
    return 0 if not t.failed and t.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
