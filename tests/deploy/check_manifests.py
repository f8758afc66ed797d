#!/usr/bin/env python3
"""Static checks of deploy/k8s, deploy/docker and deploy/systemd (ctest label deploy).

  check_manifests.py names ROOT          every name the manifests reference is defined
  check_manifests.py args ROOT BIN       every command line passes `rlserve ... --check-args`
  check_manifests.py libs ROOT BIN       the runtime image's packages cover `ldd BIN`
  check_manifests.py cmdline ROOT WHICH DIR [PORT=NEWPORT ...]
        materializes the mounts of WHICH (k8s-learner, k8s-worker, systemd-learner,
        systemd-worker) under DIR and prints its
        command line NUL-separated, with the paths mapped into DIR, every host of --listen,
        --status and --connect (a Service name included) replaced by 127.0.0.1 and the ports
        mapped as given (for the live tests, tests/deploy/k8s_live.sh, systemd_units.sh)
  check_manifests.py unit ROOT NAME KEY  the values of KEY in NAME's [Service] section
  check_manifests.py probes ROOT         the learner's probe paths, one a line
  check_manifests.py selftest ROOT BIN   each of a list of broken copies of deploy/ fails

YAML is parsed with python3-yaml. The kustomization is expanded here as kustomize would
(resources, configMapGenerator, secretGenerator, replicas, images), so the checks see the
objects `kubectl apply -k` creates. Exit status 0 when everything holds, 1 with one line per
problem.
"""
import os
import re
import shlex
import subprocess
import sys
import tempfile

try:
    import yaml
except ImportError:
    # Under CI=true or as root every component must be there (tests/integration/lib.sh).
    fatal = os.environ.get("CI") == "true" or os.geteuid() == 0
    print("%s: python3-yaml is not installed (deploy/install-deps.sh --test)"
          % ("FAIL" if fatal else "SKIP"))
    sys.exit(1 if fatal else 77)

PROBLEMS = []


def problem(msg):
    PROBLEMS.append(msg)
    print("FAIL: " + msg)


def finish(what):
    if PROBLEMS:
        print("%s: %d problem(s)" % (what, len(PROBLEMS)))
        sys.exit(1)
    print("%s: ok" % what)
    sys.exit(0)


# ---------------------------------------------------------------- Kubernetes

class K8s:
    """The objects `kubectl apply -k ROOT/deploy/k8s` creates, by kind and name."""

    def __init__(self, root):
        self.dir = os.path.join(root, "deploy", "k8s")
        self.kust = self._load_one("kustomization.yaml")
        self.objects = {}  # (kind, name) -> object
        self.generated = {}  # (kind, name) -> {key: text or None (a file the user makes)}
        for res in self.kust.get("resources") or []:
            path = os.path.join(self.dir, res)
            if not os.path.isfile(path):
                problem("kustomization.yaml: resource %s does not exist" % res)
                continue
            with open(path) as f:
                for doc in yaml.safe_load_all(f):
                    if not doc:
                        continue
                    key = (doc.get("kind"), (doc.get("metadata") or {}).get("name"))
                    if None in key:
                        problem("%s: an object without kind or metadata.name" % res)
                    elif key in self.objects:
                        problem("%s: %s/%s defined twice" % (res, key[0], key[1]))
                    self.objects[key] = doc
        for kind, gen in (("ConfigMap", "configMapGenerator"), ("Secret", "secretGenerator")):
            for g in self.kust.get(gen) or []:
                data = {}
                for lit in g.get("literals") or []:
                    k, sep, v = lit.partition("=")
                    if not sep:
                        problem("kustomization.yaml: %s literal '%s' is not KEY=VALUE" % (gen, lit))
                    data[k] = v
                for fname in g.get("files") or []:
                    k, sep, p = fname.partition("=")
                    if not sep:
                        k, p = os.path.basename(fname), fname
                    full = os.path.join(self.dir, p)
                    if kind == "Secret":
                        data[k] = None  # made by the user (README); never in git
                    elif os.path.isfile(full):
                        data[k] = open(full).read()
                    else:
                        problem("kustomization.yaml: %s file %s does not exist" % (gen, p))
                self.generated[(kind, g["name"])] = data
                self.objects[(kind, g["name"])] = {"kind": kind, "metadata": {"name": g["name"]},
                                                  "data": data}

    def _load_one(self, name):
        path = os.path.join(self.dir, name)
        with open(path) as f:
            return yaml.safe_load(f)

    def of_kind(self, *kinds):
        return [(n, o) for (k, n), o in sorted(self.objects.items()) if k in kinds]

    def workload(self, name):
        for kind in ("StatefulSet", "Deployment"):
            if (kind, name) in self.objects:
                return self.objects[(kind, name)]
        return None

    def replicas(self, name):
        for r in self.kust.get("replicas") or []:
            if r.get("name") == name:
                return int(r["count"])
        w = self.workload(name)
        return int(w["spec"].get("replicas", 1)) if w else None


def container_env(c, k8s):
    """The container's environment as the kubelet would set it."""
    env = {}
    for e in c.get("env") or []:
        if "value" in e:
            env[e["name"]] = str(e["value"])
            continue
        ref = (e.get("valueFrom") or {})
        for rk, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
            if rk in ref:
                obj = k8s.objects.get((kind, ref[rk]["name"]))
                env[e["name"]] = None
                if obj is not None and ref[rk]["key"] in obj.get("data", {}):
                    env[e["name"]] = obj["data"][ref[rk]["key"]]
    return env


def expand_vars(args, env, where):
    """$(VAR) as the kubelet expands it in command and args."""
    out = []
    for a in args:
        def sub(m):
            v = m.group(1)
            if v not in env:
                problem("%s: $(%s) is not in the container's env" % (where, v))
                return m.group(0)
            return env[v] if env[v] is not None else m.group(0)
        out.append(re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", sub, str(a)))
    return out


def opt(argv, name):
    """The value after option name in argv, or None."""
    for i, a in enumerate(argv[:-1]):
        if a == name:
            return argv[i + 1]
    return None


def host_port(text):
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port) if port.isdigit() else None


def check_k8s_names(k8s):
    pods = {}  # workload name -> (labels, containers, volume names, template spec)
    for name, w in k8s.of_kind("StatefulSet", "Deployment"):
        where = "%s %s" % (w["kind"], name)
        spec = w["spec"]
        tmpl = spec["template"]
        labels = (tmpl.get("metadata") or {}).get("labels") or {}
        for k, v in ((spec.get("selector") or {}).get("matchLabels") or {}).items():
            if labels.get(k) != v:
                problem("%s: selector %s=%s does not match the pod template's labels" % (where, k, v))
        vols = {}
        for v in tmpl["spec"].get("volumes") or []:
            vols[v["name"]] = v
            if "configMap" in v and ("ConfigMap", v["configMap"]["name"]) not in k8s.objects:
                problem("%s: volume %s names ConfigMap %s, which is not defined"
                        % (where, v["name"], v["configMap"]["name"]))
            if "secret" in v and ("Secret", v["secret"]["secretName"]) not in k8s.objects:
                problem("%s: volume %s names Secret %s, which is not defined"
                        % (where, v["name"], v["secret"]["secretName"]))
            if "persistentVolumeClaim" in v:
                problem("%s: volume %s: use volumeClaimTemplates for the run folder" % (where, v["name"]))
        for t in spec.get("volumeClaimTemplates") or []:
            vols[t["metadata"]["name"]] = {"name": t["metadata"]["name"], "claim": t}
        if w["kind"] == "StatefulSet":
            sn = spec.get("serviceName")
            if ("Service", sn) not in k8s.objects:
                problem("%s: serviceName %s is not a defined Service" % (where, sn))
        used = set()
        for c in tmpl["spec"]["containers"]:
            cwhere = "%s container %s" % (where, c["name"])
            env = container_env(c, k8s)
            for e in c.get("env") or []:
                ref = e.get("valueFrom") or {}
                for rk, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
                    if rk in ref:
                        obj = k8s.objects.get((kind, ref[rk]["name"]))
                        if obj is None:
                            problem("%s: env %s names %s %s, which is not defined"
                                    % (cwhere, e["name"], kind, ref[rk]["name"]))
                        elif ref[rk]["key"] not in obj.get("data", {}):
                            problem("%s: env %s: %s %s has no key %s"
                                    % (cwhere, e["name"], kind, ref[rk]["name"], ref[rk]["key"]))
            expand_vars((c.get("command") or []) + (c.get("args") or []), env, cwhere)
            port_names = {p.get("name"): p["containerPort"] for p in c.get("ports") or []}
            for pk in ("startupProbe", "readinessProbe", "livenessProbe"):
                hg = (c.get(pk) or {}).get("httpGet")
                if hg and isinstance(hg["port"], str) and hg["port"] not in port_names:
                    problem("%s: %s port %s is not a named container port" % (cwhere, pk, hg["port"]))
            if not (c.get("resources") or {}).get("requests"):
                problem("%s: no resource requests" % cwhere)
            for m in c.get("volumeMounts") or []:
                used.add(m["name"])
                if m["name"] not in vols:
                    problem("%s: volumeMount %s is not a volume or volumeClaimTemplate"
                            % (cwhere, m["name"]))
        for v in vols:
            if v not in used:
                problem("%s: volume %s is mounted by no container" % (where, v))
        pods[name] = (labels, tmpl["spec"]["containers"], vols)
    services = {}
    for name, s in k8s.of_kind("Service"):
        sel = s["spec"].get("selector") or {}
        targets = [w for w, (labels, _, _) in pods.items()
                   if sel and all(labels.get(k) == v for k, v in sel.items())]
        if not targets:
            problem("Service %s: its selector %s matches no pod template" % (name, sel))
        ports = {}
        for p in s["spec"]["ports"]:
            tp = p.get("targetPort", p["port"])
            resolved = None
            for w in targets:
                for c in pods[w][1]:
                    for cp in c.get("ports") or []:
                        if tp == cp.get("name") or tp == cp["containerPort"]:
                            resolved = cp["containerPort"]
            if resolved is None:
                problem("Service %s: targetPort %s is no container port of %s" % (name, tp, targets))
            ports[p["port"]] = resolved
        services[name] = (targets, ports)
    for r in k8s.kust.get("replicas") or []:
        if not k8s.workload(r["name"]):
            problem("kustomization.yaml: replicas names %s, which is not a workload" % r["name"])
    images = {c["image"].split(":")[0] for _, (_, cs, _) in pods.items() for c in cs}
    for im in k8s.kust.get("images") or []:
        if im["name"] not in images:
            problem("kustomization.yaml: image %s is used by no container" % im["name"])
    # The command lines against the objects: paths under the mounts, the ports, the Services.
    lines = k8s_command_lines(k8s)
    learner = lines.get("k8s-learner")
    worker = lines.get("k8s-worker")
    if not learner or not worker:
        problem("k8s: want one container running `rlserve learner` and one `rlserve worker`")
        return
    for which, (argv, wname, c) in lines.items():
        mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts") or []}
        vols = pods[wname][2]
        for a in argv:
            if not a.startswith("/") or a.startswith("/usr/"):
                continue
            mp = next((m for m in mounts if a == m or a.startswith(m + "/")), None)
            if mp is None:
                problem("%s: path %s is under no volumeMount" % (which, a))
                continue
            v = vols.get(mounts[mp], {})
            rest = a[len(mp) + 1:]
            for src, kind, field in (("configMap", "ConfigMap", "name"), ("secret", "Secret", "secretName")):
                if src in v:
                    data = k8s.objects.get((kind, v[src][field]), {}).get("data", {})
                    if rest not in data:
                        problem("%s: %s is not a key of %s %s mounted at %s"
                                % (which, rest, kind, v[src][field], mp))
    lport = host_port(opt(learner[0], "--listen"))[1]
    sport = host_port(opt(learner[0], "--status"))[1]
    chost, cport = host_port(opt(worker[0], "--connect"))
    if chost not in services:
        problem("k8s-worker: --connect %s: %s is not a Service" % (opt(worker[0], "--connect"), chost))
    else:
        targets, ports = services[chost]
        if "rlserve-learner" not in targets and learner[1] not in targets:
            problem("k8s-worker: Service %s does not select the learner" % chost)
        if ports.get(cport) != lport:
            problem("k8s-worker: --connect port %s reaches container port %s, the learner listens on %s"
                    % (cport, ports.get(cport), lport))
    sel = [n for n, (t, ports) in services.items() if learner[1] in t and sport in ports.values()]
    if not sel:
        problem("k8s: no Service reaches the learner's --status port %s" % sport)
    c = learner[2]
    for pk in ("readinessProbe", "livenessProbe"):
        hg = (c.get(pk) or {}).get("httpGet")
        if not hg:
            problem("k8s-learner: no %s" % pk)
            continue
        pnum = {p.get("name"): p["containerPort"] for p in c["ports"]}.get(hg["port"], hg["port"])
        if pnum != sport:
            problem("k8s-learner: %s on port %s, the status socket is on %s" % (pk, pnum, sport))
    if (c.get("readinessProbe") or {}).get("httpGet", {}).get("path") != "/status":
        problem("k8s-learner: the readiness probe is not on /status")
    if (c.get("livenessProbe") or {}).get("httpGet", {}).get("path") != "/healthz":
        problem("k8s-learner: the liveness probe is not on /healthz")
    if opt(learner[0], "--out") is None or "--auto-resume" not in learner[0]:
        problem("k8s-learner: no --out on the volume with --auto-resume: a restarted pod would not resume")
    else:
        out = opt(learner[0], "--out")
        mp = next((m["mountPath"] for m in c["volumeMounts"] if out.startswith(m["mountPath"] + "/")), None)
        v = pods[learner[1]][2].get(next((m["name"] for m in c["volumeMounts"] if m["mountPath"] == mp), ""), {})
        if "claim" not in v:
            problem("k8s-learner: --out %s is not on a volumeClaimTemplate" % out)
    nw = k8s.replicas(worker[1])
    cm = k8s.generated.get(("ConfigMap", "rlserve-config"), {})
    if "workers" in cm and str(nw) != cm["workers"]:
        problem("kustomization.yaml: %s workers run, the learner's workers setting says %s" % (nw, cm["workers"]))


def k8s_command_lines(k8s):
    """which -> (argv after $(VAR) expansion, workload name, container)."""
    lines = {}
    for name, w in k8s.of_kind("StatefulSet", "Deployment"):
        for c in w["spec"]["template"]["spec"]["containers"]:
            argv = expand_vars((c.get("command") or []) + (c.get("args") or []),
                               container_env(c, k8s), name)
            if len(argv) >= 2 and os.path.basename(argv[0]) == "rlserve":
                lines["k8s-" + argv[1]] = (argv, name, c)
    return lines


def k8s_materialize(k8s, which, top, token):
    """Makes the container's mounts under top; returns argv with the paths mapped there."""
    argv, wname, c = k8s_command_lines(k8s)[which]
    spec = k8s.workload(wname)["spec"]
    vols = {v["name"]: v for v in spec["template"]["spec"].get("volumes") or []}
    mapping = {}
    for m in c.get("volumeMounts") or []:
        d = os.path.join(top, m["mountPath"].lstrip("/"))
        os.makedirs(d, exist_ok=True)
        mapping[m["mountPath"]] = d
        v = vols.get(m["name"], {})
        src = None
        if "configMap" in v:
            src = k8s.objects[("ConfigMap", v["configMap"]["name"])]["data"]
        elif "secret" in v:
            src = {k: token for k in k8s.objects[("Secret", v["secret"]["secretName"])]["data"]}
        for k, text in (src or {}).items():
            with open(os.path.join(d, k), "w") as f:
                f.write(text)
            os.chmod(os.path.join(d, k), 0o440 if "secret" in v else 0o644)
    return map_paths(argv, mapping)


def map_paths(argv, mapping):
    out = []
    for a in argv:
        for mp in sorted(mapping, key=len, reverse=True):
            if a == mp or a.startswith(mp + "/"):
                a = mapping[mp] + a[len(mp):]
                break
        out.append(a)
    return out


# ---------------------------------------------------------------- compose

def load_compose(root):
    with open(os.path.join(root, "deploy", "docker", "compose.yaml")) as f:
        return yaml.safe_load(f)


def compose_lines(cf):
    lines = {}
    for name, s in (cf.get("services") or {}).items():
        argv = list(s.get("entrypoint") or []) + list(s.get("command") or [])
        if len(argv) >= 2 and os.path.basename(argv[0]) == "rlserve":
            lines["compose-" + argv[1]] = (argv, name, s)
    return lines


def check_compose_names(root, cf):
    ddir = os.path.join(root, "deploy", "docker")
    services = cf.get("services") or {}
    secrets = cf.get("secrets") or {}
    volumes = cf.get("volumes") or {}
    for name, s in services.items():
        where = "compose service %s" % name
        for sec in s.get("secrets") or []:
            sname = sec if isinstance(sec, str) else sec.get("source")
            if sname not in secrets:
                problem("%s: secret %s is not defined" % (where, sname))
        for v in s.get("volumes") or []:
            src = v.split(":")[0] if isinstance(v, str) else v.get("source")
            if not src.startswith((".", "/")) and src not in volumes:
                problem("%s: volume %s is not defined" % (where, src))
        for d in s.get("depends_on") or []:
            if d not in services:
                problem("%s: depends_on %s, which is not a service" % (where, d))
        b = s.get("build")
        if b:
            ctx = os.path.normpath(os.path.join(ddir, b.get("context", ".")))
            if not os.path.isfile(os.path.join(ctx, b.get("dockerfile", "Dockerfile"))):
                problem("%s: build dockerfile %s not found in %s" % (where, b.get("dockerfile"), ctx))
        if not s.get("image") and not b:
            problem("%s: neither image nor build" % where)
    images = {s.get("image") for s in services.values() if s.get("build")}
    for name, s in services.items():
        if not s.get("build") and s.get("image") not in images:
            problem("compose service %s: image %s is built by no service" % (name, s.get("image")))
    for name, sec in secrets.items():
        if "file" in sec and not os.path.isdir(os.path.dirname(os.path.join(ddir, sec["file"])) or ddir):
            problem("compose secret %s: folder of %s does not exist" % (name, sec["file"]))
    lines = compose_lines(cf)
    learner, worker = lines.get("compose-learner"), lines.get("compose-worker")
    if not learner or not worker:
        problem("compose: want one service running `rlserve learner` and one `rlserve worker`")
        return
    for which, (argv, sname, s) in lines.items():
        secs = {(x if isinstance(x, str) else x.get("target") or x.get("source")) for x in s.get("secrets") or []}
        mounts = [v.split(":")[1] for v in s.get("volumes") or [] if isinstance(v, str)]
        for a in argv:
            if not a.startswith("/"):
                continue
            if a.startswith("/run/secrets/"):
                if a[len("/run/secrets/"):] not in secs:
                    problem("%s: %s is not one of the service's secrets %s" % (which, a, sorted(secs)))
            elif not any(a.startswith(m + "/") for m in mounts):
                problem("%s: path %s is on no volume (lost when the container is replaced)" % (which, a))
    lport = host_port(opt(learner[0], "--listen"))[1]
    sport = host_port(opt(learner[0], "--status"))[1]
    chost, cport = host_port(opt(worker[0], "--connect"))
    if chost != learner[1]:
        problem("compose-worker: --connect %s is not the learner's service name %s" % (chost, learner[1]))
    if cport != lport:
        problem("compose-worker: --connect port %s, the learner listens on %s" % (cport, lport))
    published = [str(p).rsplit(":", 1)[-1] for p in learner[2].get("ports") or []]
    if str(sport) not in published:
        problem("compose-learner: the status port %s is not published (%s)" % (sport, published))
    if "--auto-resume" not in learner[0]:
        problem("compose-learner: no --auto-resume: a restarted learner would not resume")
    reps = ((worker[2].get("deploy") or {}).get("replicas"))
    wset = [a for a in learner[0] if a.startswith("workers=")]
    if reps is not None and wset and wset[0] != "workers=%d" % reps:
        problem("compose: %s worker replicas, the learner's %s" % (reps, wset[0]))


def compose_materialize(cf, which, top, token):
    argv, _, s = compose_lines(cf)[which]
    mapping = {"/run/secrets": os.path.join(top, "run", "secrets")}
    os.makedirs(mapping["/run/secrets"], exist_ok=True)
    for x in s.get("secrets") or []:
        n = x if isinstance(x, str) else x.get("target") or x.get("source")
        with open(os.path.join(mapping["/run/secrets"], n), "w") as f:
            f.write(token)
    for v in s.get("volumes") or []:
        tgt = v.split(":")[1]
        mapping[tgt] = os.path.join(top, tgt.lstrip("/"))
        os.makedirs(mapping[tgt], exist_ok=True)
    return map_paths(argv, mapping)


# ---------------------------------------------------------------- systemd

def load_unit(path):
    """[Section] -> list of (key, value), continuation lines joined."""
    unit, sec, buf = {}, None, ""
    for raw in open(path):
        line = raw.rstrip("\n")
        if buf:
            line = buf + line
            buf = ""
        if line.endswith("\\"):
            buf = line[:-1] + " "
            continue
        s = line.strip()
        if not s or s[0] in "#;":
            continue
        if s.startswith("["):
            sec = s.strip("[]")
            unit.setdefault(sec, [])
            continue
        k, _, v = s.partition("=")
        unit[sec].append((k.strip(), v.strip()))
    return unit


def unit_get(unit, sec, key):
    return [v for k, v in unit.get(sec, []) if k == key]


def systemd_units(root):
    d = os.path.join(root, "deploy", "systemd")
    return {f: load_unit(os.path.join(d, f)) for f in sorted(os.listdir(d)) if f.endswith(".service")}


def systemd_materialize(unit, name, top, token):
    """ExecStart with Environment= defaults, %d (credentials), %S (state) and %i expanded."""
    env = {}
    for e in unit_get(unit, "Service", "Environment"):
        for kv in shlex.split(e):
            k, _, v = kv.partition("=")
            env[k] = v
    creds = os.path.join(top, "credentials")
    state = os.path.join(top, "state")
    os.makedirs(creds, exist_ok=True)
    for sd in unit_get(unit, "Service", "StateDirectory"):
        for s in sd.split():
            os.makedirs(os.path.join(state, s), exist_ok=True)
    for lc in unit_get(unit, "Service", "LoadCredential"):
        cid = lc.split(":")[0]
        with open(os.path.join(creds, cid), "w") as f:
            f.write(token)
    ex = unit_get(unit, "Service", "ExecStart")
    if len(ex) != 1:
        problem("%s: want one ExecStart, found %d" % (name, len(ex)))
        return None
    argv = []
    for w in shlex.split(ex[0]):
        w = re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: env.get(m.group(1), "\0" + m.group(1)), w)
        if "\0" in w:
            problem("%s: ExecStart uses ${%s}, which no Environment= sets" % (name, w.split("\0")[1]))
        w = w.replace("%d", creds).replace("%S", state).replace("%i", "1").replace("%%", "%")
        argv.append(w)
    return argv


def check_systemd_names(root):
    for name, u in systemd_units(root).items():
        creds = [lc.split(":")[0] for lc in unit_get(u, "Service", "LoadCredential")]
        ex = unit_get(u, "Service", "ExecStart")
        words = shlex.split(ex[0]) if ex else []
        tf = opt(words, "--token-file")
        if tf is None or not tf.startswith("%d/") or tf[3:] not in creds:
            problem("%s: --token-file %s is not a LoadCredential= (%s)" % (name, tf, creds))
        for k in ("Restart", "NoNewPrivileges", "ProtectSystem", "PrivateTmp"):
            if not unit_get(u, "Service", k):
                problem("%s: no %s=" % (name, k))
        if unit_get(u, "Service", "Restart") != ["on-failure"]:
            problem("%s: Restart= is not on-failure" % name)
        if len(words) > 1 and words[1] == "learner":
            out = opt(words, "--out") or ""
            sds = " ".join(unit_get(u, "Service", "StateDirectory")).split()
            if not any(out == "%S/" + s or out.startswith("%S/" + s + "/") for s in sds):
                problem("%s: --out %s is not under a StateDirectory= (%s)" % (name, out, sds))
            if "--auto-resume" not in words:
                problem("%s: no --auto-resume: a restart would not resume" % name)
    names = list(systemd_units(root))
    if "rlserve-learner.service" not in names or "rlserve-worker@.service" not in names:
        problem("deploy/systemd: want rlserve-learner.service and rlserve-worker@.service, have %s" % names)


# ---------------------------------------------------------------- command lines

def all_lines(root, top, token):
    """(what, argv) for every command line of the manifests, compose file and units."""
    k8s = K8s(root)
    cf = load_compose(root)
    out = []
    for which in sorted(k8s_command_lines(k8s)):
        out.append((which, k8s_materialize(k8s, which, os.path.join(top, which), token)))
    for which in sorted(compose_lines(cf)):
        out.append((which, compose_materialize(cf, which, os.path.join(top, which), token)))
    for name, u in systemd_units(root).items():
        argv = systemd_materialize(u, name, os.path.join(top, name), token)
        if argv:
            out.append(("systemd " + name, argv))
    return out


def run_check(bin_, argv):
    p = subprocess.run([bin_] + argv[1:] + ["--check-args"], capture_output=True, text=True,
                       timeout=60, env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
    return p.returncode, p.stdout.strip(), p.stderr.strip()


def tree(d):
    return sorted(os.path.relpath(os.path.join(r, f), d) for r, ds, fs in os.walk(d) for f in fs + ds)


def cmd_args(root, bin_):
    token = "deploy-check-token-" + os.urandom(8).hex() + "\n"
    with tempfile.TemporaryDirectory() as top:
        lines = all_lines(root, top, token)
        if len(lines) < 6:
            problem("found %d command lines, want 6 (k8s, compose, systemd: learner and worker)" % len(lines))
        for what, argv in lines:
            before = tree(top)
            rc, so, se = run_check(bin_, argv)
            shown = " ".join(shlex.quote(a) for a in argv[1:])
            if rc != 0 or so != "ok":
                problem("%s: rlserve %s --check-args: exit %d, %s %s" % (what, shown, rc, so, se))
            else:
                print("ok   %s: rlserve %s" % (what, shown))
            if tree(top) != before:
                problem("%s: --check-args created files: %s" % (what, sorted(set(tree(top)) - set(before))))
            # The check must be able to fail: the same line with a broken part must not pass.
            role = argv[1]
            if role == "learner":
                broken = [argv[:i] + argv[i + 2:] for i, a in enumerate(argv) if a == "--token-file"]
                broken.append(argv + ["--set", "lr=not-a-number"])
            else:
                broken = [[a if not (i and argv[i - 1] == "--connect") else a.rsplit(":", 1)[0]
                           for i, a in enumerate(argv)]]
            for b in broken:
                rc, so, se = run_check(bin_, b)
                if rc == 0 or so == "ok":
                    problem("%s: a broken line passed --check-args: %s" % (what, " ".join(b[1:])))
        # rlserve run: the Dockerfile's example and a broken one.
        rc, so, se = run_check(bin_, ["rlserve", "run", "--preset", "cartpole-dqn", "--workers", "2",
                                       "--out", os.path.join(top, "runout")])
        if rc != 0 or so != "ok" or os.path.exists(os.path.join(top, "runout")):
            problem("rlserve run --preset cartpole-dqn --workers 2 --check-args: exit %d, %s %s" % (rc, so, se))
        rc, so, se = run_check(bin_, ["rlserve", "run", "--preset", "cartpole-dqn", "--set", "env=Nope-v0"])
        if rc == 0:
            problem("rlserve run --set env=Nope-v0 --check-args passed")
    finish("command lines through --check-args")


# ---------------------------------------------------------------- runtime libraries

def dockerfile_stages(path):
    """[(FROM line, [RUN commands with continuations joined])]."""
    stages, cur, buf = [], None, ""
    for raw in open(path):
        line = raw.rstrip("\n")
        if not buf and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.lstrip().startswith("#"):
            continue
        buf += line
        if buf.endswith("\\"):
            buf = buf[:-1] + " "
            continue
        ins, _, rest = buf.strip().partition(" ")
        buf = ""
        if ins.upper() == "FROM":
            cur = (rest, [])
            stages.append(cur)
        elif ins.upper() == "RUN" and cur:
            cur[1].append(rest)
        elif ins.upper() == "COPY" and cur:
            cur[1].append("#COPY " + rest)
    return stages


def apt_packages(run_cmds):
    pkgs = []
    for cmd in run_cmds:
        for part in re.split(r"&&|;|\|\|", cmd):
            w = part.split()
            if len(w) >= 2 and w[0] in ("apt-get", "apt") and "install" in w:
                pkgs += [x for x in w[w.index("install") + 1:] if not x.startswith("-")]
    return pkgs


def dpkg_owner(path):
    cands = [path, os.path.realpath(path)]
    for c in list(cands):
        if c.startswith("/usr/lib/"):
            cands.append(c[4:])
        elif c.startswith("/lib"):
            cands.append("/usr" + c)
    for c in cands:
        p = subprocess.run(["dpkg", "-S", c], capture_output=True, text=True)
        if p.returncode == 0:
            return p.stdout.split(":")[0].strip()
    return None


def dpkg_field(pkg, field):
    p = subprocess.run(["dpkg-query", "-W", "-f=${%s}" % field, pkg], capture_output=True, text=True)
    return p.stdout.strip() if p.returncode == 0 else None


def depends_closure(pkgs):
    seen, todo = set(), list(pkgs)
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        deps = " , ".join(filter(None, [dpkg_field(p, "Depends"), dpkg_field(p, "Pre-Depends")]))
        for alt in deps.split(","):
            for d in alt.split("|"):
                name = d.strip().split(" ")[0].split(":")[0]
                if name and dpkg_field(name, "Status") and "installed" in dpkg_field(name, "Status"):
                    todo.append(name)
                    break
    return seen


def cmd_libs(root, bin_):
    df = os.path.join(root, "deploy", "docker", "Dockerfile")
    stages = dockerfile_stages(df)
    if len(stages) < 2:
        problem("Dockerfile: want a build stage and a runtime stage, found %d stage(s)" % len(stages))
        finish("runtime libraries")
    build_from, build_runs = stages[0]
    run_from, run_runs = stages[-1]
    for frm, what in ((build_from, "build"), (run_from, "runtime")):
        if not re.match(r"debian:12(-slim)?\b", frm):
            problem("Dockerfile: the %s stage is FROM %s, not Debian 12" % (what, frm))
    # Every COPY from the context names something that exists, and nothing but sources.
    for cmd in build_runs + run_runs:
        if cmd.startswith("#COPY ") and "--from" not in cmd:
            srcs = cmd.split()[1:-1]
            for src in srcs:
                if src in (".", "./") or "token" in src:
                    problem("Dockerfile: COPY %s would copy the whole checkout (tokens, builds)" % src)
                elif not os.path.exists(os.path.join(root, src)):
                    problem("Dockerfile: COPY %s: no such file in the project" % src)
    runtime = apt_packages(run_runs)
    build = apt_packages(build_runs)
    print("runtime stage packages: %s" % " ".join(runtime))
    for p in runtime:
        if p.endswith("-dev") or p in ("build-essential", "cmake", "gcc", "pkg-config"):
            problem("Dockerfile: the runtime stage installs %s (build tools belong in the build stage)" % p)
    # The build stage installs what deploy/install-deps.sh builds with.
    text = open(os.path.join(root, "deploy", "install-deps.sh")).read()
    m = re.search(r"pkgs=\(([^)]*)\)", text)
    for p in (m.group(1).split() if m else []):
        if p not in build:
            problem("Dockerfile: the build stage lacks %s (deploy/install-deps.sh builds with it)" % p)
    out = subprocess.run(["ldd", bin_], capture_output=True, text=True, check=True).stdout
    closure = depends_closure(runtime)
    for line in out.splitlines():
        m = re.match(r"\s*(\S+) => (\S+)", line)
        if not m:
            continue
        so, path = m.groups()
        if path == "not":
            problem("ldd: %s not found" % so)
            continue
        pkg = dpkg_owner(path)
        if pkg is None:
            problem("ldd: %s (%s) belongs to no Debian package" % (so, path))
            continue
        if pkg in runtime:
            how = "named in the runtime stage"
        elif pkg in closure:
            how = "a dependency of the runtime stage's packages"
        elif dpkg_field(pkg, "Priority") == "required" or dpkg_field(pkg, "Essential") == "yes":
            how = "Priority required: in every Debian 12 image"
        else:
            problem("ldd: %s comes from %s, which the runtime stage does not install" % (so, pkg))
            continue
        print("ok   %-22s %-24s %s" % (so, pkg, how))
    needed = {dpkg_owner(m.group(1)) for m in re.finditer(r"=> (/\S+)", out)}
    for p in runtime:
        if p not in needed:
            problem("Dockerfile: the runtime stage installs %s, which rlserve does not link" % p)
    finish("runtime libraries")


# ---------------------------------------------------------------- self-test

# (check, file under deploy/, text, replacement, words the failure must contain): each
# mutation of a copy of deploy/ must make that check fail, so a check that cannot fail is
# caught too.
MUTATIONS = [
    ("names", "k8s/workers.yaml", "secretName: rlserve-token", "secretName: rlserve-tokn",
     "Secret rlserve-tokn"),
    ("names", "k8s/learner.yaml", "targetPort: status", "targetPort: stats", "targetPort stats"),
    ("names", "k8s/workers.yaml", "rlserve-learner:7878", "rlserve-learnr:7878", "is not a Service"),
    ("names", "k8s/workers.yaml", "rlserve-learner:7878", "rlserve-learner:7879", "reaches container port"),
    ("names", "k8s/kustomization.yaml", "count: 2", "count: 3", "3 workers run"),
    ("names", "k8s/kustomization.yaml", "- workers.yaml", "- worker.yaml", "worker.yaml does not exist"),
    ("names", "k8s/learner.yaml", "mountPath: /etc/rlserve\n", "mountPath: /etc/rlserv\n",
     "under no volumeMount"),
    ("names", "k8s/learner.yaml", "key: workers", "key: worker", "has no key worker"),
    ("names", "k8s/learner.yaml", "path: /healthz", "path: /health", "not on /healthz"),
    ("names", "k8s/learner.yaml", "            - --auto-resume\n", "", "would not resume"),
    ("names", "k8s/learner.yaml", "      port: 8080\n", "      port: 8080\n   bad: [\n",
     "is not valid YAML"),
    ("names", "k8s/learner.yaml", "- /etc/rlserve/run.conf", "- /etc/rlserve/rlserve.conf",
     "rlserve.conf is not a key"),
    ("names", "docker/compose.yaml", "- learner:7878", "- learner:7879", "--connect port"),
    ("names", "docker/compose.yaml", "rlserve_token:\n    file", "other_token:\n    file",
     "secret rlserve_token is not defined"),
    ("names", "systemd/rlserve-learner.service", "--out %S/rlserve/run", "--out /tmp/run",
     "not under a StateDirectory"),
    ("names", "systemd/rlserve-worker@.service", "LoadCredential=token:", "LoadCredential=tok:",
     "is not a LoadCredential"),
    ("args", "k8s/learner.yaml", "- --auto-resume", "- --auto-resum", "unknown option"),
    ("args", "docker/compose.yaml", "- workers=2", "- workers=-1", "workers"),
    ("args", "systemd/rlserve-learner.service", "RLSERVE_PRESET=cartpole-dqn",
     "RLSERVE_PRESET=cartpole-dqm", "unknown preset"),
    ("libs", "docker/Dockerfile", "libsodium23 libcjson1", "libcjson1", "comes from libsodium23"),
    ("libs", "docker/Dockerfile", "libsodium23 libcjson1", "libsodium23 libcjson1 libuv1-dev",
     "build tools belong"),
    ("libs", "docker/Dockerfile", "FROM debian:12-slim", "FROM ubuntu:24.04", "not Debian 12"),
    ("libs", "docker/Dockerfile", "COPY envs envs", "COPY envz envs", "COPY envz: no such file"),
    ("libs", "docker/Dockerfile", "COPY envs envs", "COPY . .", "whole checkout"),
]


def cmd_selftest(root, bin_):
    import shutil
    for check, rel, old, new, want in MUTATIONS:
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copytree(os.path.join(root, "deploy"), os.path.join(tmp, "deploy"),
                            ignore=shutil.ignore_patterns("token"))
            path = os.path.join(tmp, "deploy", rel)
            text = open(path).read()
            if old not in text:
                problem("self-test: '%s' is not in deploy/%s any more (update MUTATIONS)" % (old, rel))
                continue
            open(path, "w").write(text.replace(old, new))
            argv = [sys.executable, os.path.abspath(__file__), check, tmp] + ([bin_] if check != "names" else [])
            p = subprocess.run(argv, capture_output=True, text=True, timeout=300)
            label = "deploy/%s: %r -> %r" % (rel, old, new)
            if p.returncode != 1 or want not in p.stdout:
                problem("self-test %s %s: exit %d, no '%s' in:\n%s" % (check, label, p.returncode, want,
                                                                    p.stdout[-1500:] + p.stderr[-500:]))
            else:
                print("ok   %s check refuses %s" % (check, label))
    finish("self-test (every mutation caught)")


# ---------------------------------------------------------------- main

def main():
    try:
        dispatch()
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = "%s line %d" % (mark.name, mark.line + 1) if mark else "a manifest"
        problem("%s is not valid YAML: %s" % (where, getattr(e, "problem", e)))
        finish("YAML")


def dispatch():
    if len(sys.argv) < 3:
        print(__doc__)
        sys.exit(2)
    what, root = sys.argv[1], os.path.abspath(sys.argv[2])
    if what == "names":
        k8s = K8s(root)
        print("k8s objects: " + ", ".join("%s/%s" % k for k in sorted(k8s.objects)))
        check_k8s_names(k8s)
        check_compose_names(root, load_compose(root))
        check_systemd_names(root)
        finish("names across the manifests")
    elif what == "args":
        cmd_args(root, sys.argv[3])
    elif what == "libs":
        cmd_libs(root, sys.argv[3])
    elif what == "selftest":
        cmd_selftest(root, sys.argv[3])
    elif what == "cmdline":
        which, top = sys.argv[3], sys.argv[4]
        ports = dict(p.split("=") for p in sys.argv[5:])
        token = open(os.environ["RLSERVE_TOKEN_FILE"]).read()
        if which.startswith("systemd-"):
            name = "rlserve-%s.service" % ("learner" if which == "systemd-learner" else "worker@")
            argv = systemd_materialize(systemd_units(root)[name], name, top, token)
        else:
            argv = k8s_materialize(K8s(root), which, top, token)
        for i, a in enumerate(argv):
            if i and argv[i - 1] in ("--listen", "--status", "--connect"):
                _, port = host_port(a)
                argv[i] = "127.0.0.1:%s" % ports.get(str(port), port)
        sys.stdout.write("\0".join(argv) + "\0")
    elif what == "unit":  # unit ROOT NAME KEY: the values of KEY in [Service], one a line
        for v in unit_get(systemd_units(root)[sys.argv[3]], "Service", sys.argv[4]):
            print(v)
    elif what == "probes":
        c = k8s_command_lines(K8s(root))["k8s-learner"][2]
        for pk in ("startupProbe", "readinessProbe", "livenessProbe"):
            hg = (c.get(pk) or {}).get("httpGet")
            if hg:
                print(hg["path"])
    else:
        print(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
