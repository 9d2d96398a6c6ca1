#!/usr/bin/env python3
"""deploy_checks.py -- deploy/ kept consistent with the binary it packages.

Installs the build with deploy/install.sh into a temporary root and checks: the files a
distribution needs are there and the unit's paths follow PREFIX; the systemd unit passes
`systemd-analyze verify` and rates "OK" or better in `systemd-analyze security`; the
sysusers snippet is accepted and names the unit's user; the Containerfile copies only
what exists, runs as a user it creates, installs the packages of every library transomd
links and exposes the port it listens on; the Kubernetes manifests (replicas, probes,
ports, volumes, non-root read-only containers, the migration Job) fit the binary; and
every TRANSOM_* setting named anywhere in deploy/ exists in `transomd --help`.

Environment: TRANSOM_TEST_BIN (the transomd under test), TRANSOM_TEST_ROOT (the repository).
Prints one line per check and "N passed, N failed"."""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

ROOT = os.environ.get("TRANSOM_TEST_ROOT") or os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("TRANSOM_TEST_BIN") or os.path.join(ROOT, "build", "transomd")
BUILD = os.path.dirname(BIN)
passed = failed = 0


def check(name, ok, why=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name}: {why}")


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, **kw)


def install(dest, prefix):
    env = dict(os.environ, DESTDIR=dest, PREFIX=prefix, SYSCONFDIR=(dest and "/etc") or
               prefix + "/etc")
    return run([os.path.join(ROOT, "deploy", "install.sh"), BUILD], env=env)


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


tmp = tempfile.mkdtemp(prefix="transom-deploy.")
try:
    # --- make install ------------------------------------------------------------------
    dest = os.path.join(tmp, "pkg")
    r = install(dest, "/usr")
    check("install.sh runs", r.returncode == 0, r.stderr)
    want = ["usr/bin/transomd", "usr/bin/transom", "usr/share/transom/workflows/change-normal.json",
            "usr/share/transom/policies", "usr/lib/systemd/system/transom.service",
            "usr/lib/sysusers.d/transom.conf", "usr/lib/tmpfiles.d/transom.conf",
            "etc/transom/transom.conf.example", "usr/share/doc/transom/operations.md",
            "usr/share/doc/transom/README.md"]
    missing = [w for w in want if not os.path.exists(os.path.join(dest, w))]
    check("install puts binaries, units, definitions and docs in place", not missing,
          f"missing {missing}")
    shipped = sorted(os.path.basename(p) for p in glob.glob(os.path.join(ROOT, "workflows", "*")) +
                     glob.glob(os.path.join(ROOT, "policies", "*")))
    got = sorted(os.path.basename(p) for p in
                 glob.glob(os.path.join(dest, "usr/share/transom/workflows/*")) +
                 glob.glob(os.path.join(dest, "usr/share/transom/policies/*")))
    check("every default workflow and policy file is installed", shipped == got,
          f"{set(shipped) ^ set(got)}")
    opt = os.path.join(tmp, "opt")
    r = install(opt, "/opt/transom")
    unit = open(os.path.join(opt, "opt/transom/lib/systemd/system/transom.service")).read() \
        if r.returncode == 0 else ""
    check("the unit follows PREFIX",
          "ExecStart=/opt/transom/bin/transomd " in unit and "/usr/bin/transomd" not in unit,
          r.stderr or unit[:300])

    # --- systemd -------------------------------------------------------------------------
    live = os.path.join(tmp, "live")
    r = install("", live)
    unit_path = os.path.join(live, "lib/systemd/system/transom.service")
    r = run(["systemd-analyze", "verify", unit_path])
    out = (r.stdout + r.stderr).strip()
    check("systemd-analyze verify is clean", r.returncode == 0 and out == "", out)
    r = run(["systemd-analyze", "security", "--offline=true", "--no-pager", unit_path])
    m = re.search(r"Overall exposure level for transom\.service: ([0-9.]+) (\w+)", r.stdout)
    check("systemd-analyze security rates the unit OK or better",
          m is not None and m.group(2) in ("SAFE", "OK"),
          m.group(0) if m else r.stdout[-500:] + r.stderr)
    if m:
        print(f"     exposure {m.group(1)} {m.group(2)}")
    unit = read("deploy/systemd/transom.service")
    directives = dict()
    for line in unit.splitlines():
        if "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            directives.setdefault(k, []).append(v)
    need = {"Type": "notify", "ProtectSystem": "strict", "NoNewPrivileges": "yes",
            "PrivateTmp": "yes", "ProtectHome": "yes", "CapabilityBoundingSet": "",
            "SystemCallFilter": "@system-service", "ExecReload": "/bin/kill -HUP $MAINPID"}
    bad = [k for k, v in need.items() if v not in directives.get(k, [])]
    check("the unit sandboxes, notifies and reloads with SIGHUP", not bad, f"not set: {bad}")
    user = directives.get("User", [""])[0]
    sysusers = read("deploy/systemd/transom.sysusers")
    check("sysusers creates the unit's user",
          re.search(rf"^u {re.escape(user)} ", sysusers, re.M) is not None, user)
    r = run(["systemd-sysusers", "--dry-run", "--root", os.path.join(tmp, "sysroot"),
             os.path.join(ROOT, "deploy/systemd/transom.sysusers")])
    check("systemd-sysusers accepts the snippet", r.returncode == 0, r.stderr)
    tmpfiles = read("deploy/systemd/transom.tmpfiles")
    conf = read("deploy/systemd/transom.conf.example")
    dirs = [l.split()[1] for l in tmpfiles.splitlines() if l and not l.startswith("#")]
    paths = dict(re.findall(r"^(TRANSOM_\w+)=(\S+)", conf, re.M))
    outside = [k for k in ("TRANSOM_WORKFLOWS_DIR", "TRANSOM_POLICIES_DIR", "TRANSOM_CACHE_DIR",
                           "TRANSOM_SECRET_KEY_FILE", "TRANSOM_AUDIT_CHECKPOINT_FILE")
               if not any(paths.get(k, "").startswith(d) for d in dirs)]
    check("the example settings use the directories tmpfiles makes", not outside, outside)

    # --- settings ------------------------------------------------------------------------
    r = run([BIN, "--help"])
    settings = set(re.findall(r"^\s+(TRANSOM_[A-Z0-9_]+)\s", r.stdout, re.M))
    named = {}
    for path in glob.glob(os.path.join(ROOT, "deploy", "**", "*"), recursive=True):
        if os.path.isfile(path) and re.search(r"/deploy/(systemd|k8s|container|prometheus|grafana)/",
                                              path):
            for s in re.findall(r"\bTRANSOM_[A-Z0-9_]+", open(path, encoding="utf-8").read()):
                named.setdefault(s, path)
    unknown = {s: p for s, p in named.items() if s not in settings}
    check("every TRANSOM_* setting named in deploy/ is one of transomd --help",
          settings and named and not unknown, f"{unknown} ({len(settings)} settings known)")

    # --- Containerfile -------------------------------------------------------------------
    cf = read("deploy/container/Containerfile")
    stages = re.findall(r"^FROM (\S+)(?: AS (\w+))?", cf, re.M)
    check("the Containerfile is multi-stage on Debian 12 slim",
          len(stages) >= 2 and all(s[0].endswith("debian:12-slim") for s in stages), stages)
    copies = re.findall(r"^COPY (?!--from)(.+)$", cf, re.M)
    srcs = [w for c in copies for w in c.split()[:-1]]
    check("the build stage copies only what exists",
          srcs and all(os.path.exists(os.path.join(ROOT, s)) for s in srcs), srcs)
    from_build = [w for c in re.findall(r"^COPY --from=build (.+)$", cf, re.M) for w in c.split()[:-1]]
    absent = [s for s in from_build
              if not s.startswith("/out/") or not os.path.exists(os.path.join(dest, s[5:]))]
    check("the run stage copies what `make install` puts under /out", from_build and not absent,
          absent)
    uid = re.search(r"useradd [^\n]*--uid (\d+)", cf)
    usr = re.search(r"^USER (\d+)", cf, re.M)
    check("it runs as the non-root user it creates",
          uid and usr and uid.group(1) == usr.group(1) and usr.group(1) != "0", (uid, usr))
    listen = re.search(r"TRANSOM_LISTEN=\S*:(\d+)", cf)
    expose = re.search(r"^EXPOSE (\d+)", cf, re.M)
    health = re.search(r"^HEALTHCHECK .*\n?.*http://127\.0\.0\.1:(\d+)(/\w+)", cf, re.M)
    openapi = read("docs/openapi.json")
    check("EXPOSE, TRANSOM_LISTEN and the HEALTHCHECK agree on a served route",
          listen and expose and health and listen.group(1) == expose.group(1) == health.group(1)
          and f'"{health.group(2)}"' in openapi, (listen, expose, health))
    entry = re.search(r'^ENTRYPOINT \["([^"]+)"', cf, re.M)
    check("the ENTRYPOINT is the installed binary",
          entry and os.path.exists(os.path.join(dest, entry.group(1).lstrip("/"))), entry)
    runtime = set(re.findall(r"[a-z0-9][a-z0-9.+-]+", cf.split("FROM ")[-1].split("rm -rf")[0]))
    ldd = run(["ldd", BIN]).stdout
    libs = dict(re.findall(r"^\s*(\S+) => (/\S+)", ldd, re.M))
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", run(["readelf", "-d", BIN]).stdout)
    pkgs = set()
    for lib in needed:
        path = libs.get(lib)
        if path is None:
            continue
        q = run(["dpkg", "-S", os.path.realpath(path)])
        if q.returncode != 0:
            q = run(["dpkg", "-S", path])
        if q.returncode == 0:
            pkgs.add(q.stdout.split(":")[0].strip())
    pkgs = {p for p in pkgs if not re.match(r"libc6|libasan|libubsan|libgcc|libstdc", p)}
    lacking = sorted(pkgs - runtime)
    check("the run stage installs the package of every library transomd links",
          pkgs and not lacking, f"missing {lacking} of {sorted(pkgs)}")

    # --- Kubernetes ------------------------------------------------------------------------
    docs = [d for d in yaml.safe_load_all(read("deploy/k8s/transom.yaml")) if d]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    dep = by_kind["Deployment"][0]
    pod = dep["spec"]["template"]
    check("the Deployment runs at least 2 replicas", dep["spec"].get("replicas", 1) >= 2,
          dep["spec"].get("replicas"))
    labels = pod["metadata"]["labels"]

    def selects(sel):
        return sel and all(labels.get(k) == v for k, v in sel.items())

    pdb = by_kind.get("PodDisruptionBudget", [{}])[0]
    svc = by_kind.get("Service", [{}])[0]
    check("the PodDisruptionBudget and the Service select the pods",
          selects(pdb.get("spec", {}).get("selector", {}).get("matchLabels")) and
          selects(svc.get("spec", {}).get("selector")), (pdb, svc))
    main = next(c for c in pod["spec"]["containers"] if c["name"] == "transomd")
    env = {e["name"]: e.get("value") for e in main.get("env", [])}
    port = int(env.get("TRANSOM_LISTEN", ":0").rsplit(":", 1)[1])
    ports = {p["name"]: p["containerPort"] for p in main.get("ports", [])}
    check("the container port is where transomd listens, and the Service targets it",
          port in ports.values() and all(p["targetPort"] in ports or p["targetPort"] == port
                                         for p in svc["spec"]["ports"]), (port, ports))
    lp = main.get("livenessProbe", {}).get("httpGet", {})
    rp = main.get("readinessProbe", {}).get("httpGet", {})
    check("liveness is /healthz and readiness /readyz on that port",
          lp.get("path") == "/healthz" and rp.get("path") == "/readyz" and
          all(ports.get(p.get("port"), p.get("port")) == port for p in (lp, rp)), (lp, rp))
    inits = pod["spec"].get("initContainers", [])
    conts = pod["spec"]["containers"] + inits + by_kind["Job"][0]["spec"]["template"]["spec"]["containers"]
    nolimits = [c["name"] for c in conts
                if not all(k in c.get("resources", {}).get(w, {}) for w in ("requests", "limits")
                           for k in ("cpu", "memory"))]
    check("every container has cpu and memory requests and limits", not nolimits, nolimits)
    insecure = []
    for spec in (pod["spec"], by_kind["Job"][0]["spec"]["template"]["spec"]):
        psc = spec.get("securityContext", {})
        if not psc.get("runAsNonRoot") or str(psc.get("runAsUser")) != usr.group(1):
            insecure.append("pod")
        for c in spec["containers"] + spec.get("initContainers", []):
            sc = c.get("securityContext", {})
            if not sc.get("readOnlyRootFilesystem") or sc.get("allowPrivilegeEscalation", True):
                insecure.append(c["name"])
    check("pods run as the image's non-root user, containers read-only", not insecure, insecure)
    mounts = {m["mountPath"]: m for m in main.get("volumeMounts", [])}
    vols = {v["name"]: v for v in pod["spec"]["volumes"]}
    cms = {d["metadata"]["name"] for d in by_kind.get("ConfigMap", [])}
    secrets = {d["metadata"]["name"] for d in by_kind.get("Secret", [])}

    def volume_of(path):
        best = max((m for m in mounts if path == m or path.startswith(m + "/")), key=len,
                   default=None)
        return vols.get(mounts[best]["name"]) if best else None

    wf, pol = volume_of(env.get("TRANSOM_WORKFLOWS_DIR", "")), volume_of(env.get("TRANSOM_POLICIES_DIR", ""))
    check("workflows/ and policies/ come from ConfigMaps of the manifest",
          wf and pol and wf.get("configMap", {}).get("name") in cms and
          pol.get("configMap", {}).get("name") in cms, (wf, pol))
    writable = [k for k in ("TRANSOM_CACHE_DIR", "TRANSOM_AUDIT_CHECKPOINT_FILE",
                            "TRANSOM_SECRET_KEY_FILE")
                if not (volume_of(env.get(k, "")) and "emptyDir" in volume_of(env.get(k, "")))]
    check("what transomd writes is on a volume", not writable, writable)
    keyfile = env.get("TRANSOM_SECRET_KEY_FILE", "")
    state_vol = (volume_of(keyfile) or {}).get("name")
    copier = [c for c in inits
              if keyfile in " ".join(c.get("command", [])) and "umask 077" in " ".join(c.get("command", []))
              and any(m["name"] == state_vol for m in c.get("volumeMounts", []))
              and any(vols.get(m["name"], {}).get("secret", {}).get("secretName") in secrets
                      for m in c.get("volumeMounts", []))]
    check("the sealing key comes from a Secret, copied with mode 0600", copier, inits)
    refs = [e["secretRef"]["name"] for e in main.get("envFrom", []) if "secretRef" in e]
    check("the settings come from a Secret of the manifest", refs and set(refs) <= secrets, refs)
    rel = [c for c in pod["spec"]["containers"] if c["name"] != "transomd"]
    check("a sidecar reloads (SIGHUP) when the ConfigMaps change",
          pod["spec"].get("shareProcessNamespace") and
          any("HUP" in " ".join(c.get("command", [])) for c in rel), rel)
    job = by_kind["Job"][0]["spec"]["template"]["spec"]["containers"][0]
    jenv = {e["name"] for e in job.get("env", [])}
    check("the migration Job runs `transomd migrate` as the owner login",
          job.get("args") == ["migrate"] and "TRANSOM_MIGRATE_DATABASE_URL" in jenv, job)
finally:
    shutil.rmtree(tmp, ignore_errors=True)

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
