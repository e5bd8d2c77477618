"""deploy/: the Docker files cannot be built here (no Docker), so this checks what can be
checked without Docker against the real build and the real binary.

* The Dockerfile's build stage installs the -dev package of every library CMakeLists.txt
  requires (pkg-config modules and find_library), found through dpkg on this machine.
* Its runtime stage covers every shared library `ldd lacquer` resolves: each library's
  package is listed or a dependency (recursively, as dpkg records them) of a listed one.
* The runtime layout the Dockerfile builds (models in MODEL_PATH, the nail segmentation
  network at MODEL_PATH/../assets/nailseg/) is served by `lacquer serve` with the image's
  environment: the health check's own curl command passes and segmentation is on.
* docker-compose.yml: the services the issue names, a health check on each, the nginx
  file it mounts, upstream names that match the service names, and settings that the
  binary knows and accepts (the instances' environment starts a real `lacquer serve`).
"""
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import urllib.request

import pytest
import yaml

from conftest import BIN, MODELS, ROOT, SANITIZED, Server

DEPLOY = os.path.join(ROOT, "deploy")


def dockerfile_instructions():
    with open(os.path.join(DEPLOY, "Dockerfile")) as f:
        text = f.read()
    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    out = []
    for ln in joined.splitlines():
        ln = ln.strip()
        if ln:
            word, _, rest = ln.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def stages():
    """{stage name: [(instruction, arguments)]} in order."""
    result, cur = {}, None
    for word, rest in dockerfile_instructions():
        if word == "FROM":
            m = re.match(r"\S+\s+AS\s+(\S+)", rest, re.I)
            assert m, f"every stage is named: FROM {rest}"
            cur = m.group(1)
            result[cur] = []
        elif cur is not None:
            result[cur].append((word, rest))
    return result


def apt_packages(instrs):
    pkgs = []
    for word, rest in instrs:
        if word != "RUN":
            continue
        for cmd in rest.split("&&"):
            toks = shlex.split(cmd)
            if toks[:2] == ["apt-get", "install"]:
                pkgs += [t for t in toks[2:] if not t.startswith("-")]
    return pkgs


def package_of(path):
    p = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
    if p.returncode != 0:
        real = os.path.realpath(path)
        p = subprocess.run(["dpkg", "-S", real], capture_output=True, text=True)
    assert p.returncode == 0, f"no Debian package owns {path}: {p.stderr}"
    return p.stdout.split(":")[0].strip()


def installed_dependency_graph():
    """{package: set of dependency names}, and {virtual name: providers}, from dpkg."""
    p = subprocess.run(["dpkg-query", "-W", "-f",
                        "${Package}\t${Depends}, ${Pre-Depends}\t${Provides}\n"],
                       capture_output=True, text=True, check=True)
    deps, provides = {}, {}
    for line in p.stdout.splitlines():
        name, dep, prov = (line.split("\t") + ["", ""])[:3]
        names = set()
        for alt in re.split(r"[,|]", dep):
            alt = re.sub(r"\(.*?\)|:\S+", "", alt).strip()
            if alt:
                names.add(alt)
        deps[name] = names
        for v in prov.split(","):
            v = re.sub(r"\(.*?\)", "", v).strip()
            if v:
                provides.setdefault(v, set()).add(name)
    return deps, provides


def closure(roots):
    deps, provides = installed_dependency_graph()
    seen, todo = set(), list(roots)
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        todo += list(deps.get(p, ())) + list(provides.get(p, ()))
    return seen


def test_build_stage_has_every_library_cmake_requires():
    build = apt_packages(stages()["build"])
    assert "cmake" in build and "npm" in build
    with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
        cmake = f.read()
    modules = re.findall(r"pkg_check_modules\(\w+\s+REQUIRED\s+IMPORTED_TARGET\s+(\S+?)\)", cmake)
    libs = re.findall(r"find_library\(\w+\s+(\w+)\s+REQUIRED\)", cmake)
    assert len(modules) >= 10 and "libjwt" in modules, modules
    assert libs, "find_library lines"
    missing = []
    for mod in modules:
        pcdir = subprocess.run(["pkg-config", "--variable=pcfiledir", mod], capture_output=True,
                               text=True, check=True).stdout.strip()
        pkg = package_of(os.path.join(pcdir, mod + ".pc"))
        if pkg not in build:
            missing.append(f"{pkg} (pkg-config {mod})")
    for lib in libs:
        p = subprocess.run(["sh", "-c", f"ls /usr/lib/*/lib{lib}.so /usr/lib/lib{lib}.so "
                            "2>/dev/null | head -1"], capture_output=True, text=True)
        path = p.stdout.strip()
        assert path, f"lib{lib}.so not found"
        pkg = package_of(path)
        if pkg not in build:
            missing.append(f"{pkg} (find_library {lib})")
    assert not missing, f"deploy/Dockerfile build stage lacks: {missing}"


def test_runtime_stage_covers_every_shared_library_of_the_binary():
    runtime = apt_packages(stages()["runtime"])
    assert "curl" in runtime  # the health check
    p = subprocess.run(["ldd", BIN], capture_output=True, text=True, check=True)
    libs = re.findall(r"=>\s+(/\S+)", p.stdout)
    assert len(libs) > 10, p.stdout
    if SANITIZED:
        # The sanitizer build's runtimes (and the C++ library they use) are not in the image.
        libs = [lib for lib in libs
                if not re.search(r"/lib(asan|ubsan|tsan|lsan|stdc\+\+)\.so", lib)]
    have = closure(runtime)
    missing = sorted({f"{package_of(lib)} ({os.path.basename(lib)})" for lib in libs
                      if package_of(lib) not in have})
    assert not missing, f"deploy/Dockerfile runtime stage lacks: {missing}"
    # ...and every package named in either stage exists in this Debian.
    lists = [f for f in os.listdir("/var/lib/apt/lists") if "Packages" in f] \
        if os.path.isdir("/var/lib/apt/lists") else []
    for pkg in set(runtime) | set(apt_packages(stages()["build"])):
        known = subprocess.run(["dpkg-query", "-W", pkg], capture_output=True).returncode == 0
        if not known and lists:
            known = subprocess.run(["apt-cache", "show", "--no-all-versions", pkg],
                                   capture_output=True).returncode == 0
        assert known or not lists, f"no Debian package {pkg}"


def image_env():
    env = {}
    for word, rest in stages()["runtime"]:
        if word == "ENV":
            for tok in shlex.split(rest):
                k, _, v = tok.partition("=")
                env[k] = v
    return env


def test_runtime_layout_serves_with_segmentation_and_passes_the_health_check():
    instrs = stages()["runtime"]
    words = [w for w, _ in instrs]
    user = [r for w, r in instrs if w == "USER"]
    assert user and not user[-1].startswith(("root", "0")), user
    assert any(w == "COPY" and r.startswith("--from=build") for w, r in instrs)
    env = image_env()
    model_path = env["MODEL_PATH"]
    build_runs = " ".join(r for w, r in stages()["build"] if w == "RUN")
    # The models are fetched (and SHA-256 checked) into MODEL_PATH in the build stage...
    assert f"LQ_MODELS_DIR={model_path} scripts/fetch-models.sh" in build_runs
    # ...and the nail segmentation network lands where the service looks for it.
    seg_dir = os.path.normpath(os.path.join(model_path, "..", "assets", "nailseg"))
    assert re.search(rf"install .*-t {re.escape(seg_dir)}\s+assets/nailseg/nailseg\.tflite",
                     build_runs), build_runs
    assert re.search(rf"install .*-t {re.escape(seg_dir)}\s+.*assets/nailseg/outline\.tflite",
                     build_runs), build_runs
    # ...with the outline network's second ensemble member beside it
    assert re.search(rf"install .*-t {re.escape(seg_dir)}\s+.*assets/nailseg/outline_b\.tflite",
                     build_runs), build_runs
    assert "EXPOSE" in words and env["WS_PORT"] in [r for w, r in instrs if w == "EXPOSE"]
    health = [r for w, r in instrs if w == "HEALTHCHECK"]
    assert len(health) == 1 and "/health" in health[0]
    check_cmd = health[0].split(" CMD ", 1)[1]

    # That layout, outside Docker: /opt/lacquer -> a temp folder.
    with tempfile.TemporaryDirectory() as root:
        models = os.path.join(root, "models")
        os.mkdir(models)
        for name in os.listdir(MODELS):
            if name.endswith(".tflite"):
                os.symlink(os.path.join(MODELS, name), os.path.join(models, name))
        os.makedirs(os.path.join(root, "assets", "nailseg"))
        for name in ("nailseg.tflite", "outline.tflite", "outline_b.tflite"):
            shutil.copy(os.path.join(ROOT, "assets", "nailseg", name),
                        os.path.join(root, "assets", "nailseg"))
        image = dict(env, MODEL_PATH=models)
        image.pop("WS_PORT")
        image.pop("WS_HOST")
        srv = Server(env=image, workdir=root)
        try:
            p = subprocess.run(["sh", "-c", check_cmd],
                               env=dict(os.environ, WS_PORT=str(srv.port)),
                               capture_output=True, text=True, timeout=30)
            assert p.returncode == 0, (check_cmd, p.stderr)
            logs = srv.logs()
            assert "nail segmentation off" not in logs, logs
            assert "nail outline off" not in logs, logs
            assert "outline_b.tflite: ensemble member 2" in logs, logs
        finally:
            assert srv.close() == 0, srv.logs()


def compose():
    with open(os.path.join(DEPLOY, "docker-compose.yml")) as f:
        return yaml.safe_load(f)


def default_of(value):
    """Compose's ${VAR:-default} as it is when VAR is unset."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", str(value))


def test_compose_services_health_checks_and_nginx():
    c = compose()
    services = c["services"]
    assert {"lacquer-1", "lacquer-2", "nginx", "redis", "worker"} <= set(services)
    for name, svc in services.items():
        assert "healthcheck" in svc, f"{name} has no health check"
    for name in ("lacquer-1", "lacquer-2", "worker"):
        assert services[name]["build"]["dockerfile"] == "deploy/Dockerfile"
        assert os.path.exists(os.path.join(DEPLOY, services[name]["build"]["context"],
                                           services[name]["build"]["dockerfile"]))
    nginx = services["nginx"]
    mounts = [v.split(":")[0] for v in nginx["volumes"]]
    assert "./nginx/lacquer.conf" in mounts
    for dep in ("lacquer-1", "lacquer-2"):
        assert nginx["depends_on"][dep]["condition"] == "service_healthy"
    with open(os.path.join(DEPLOY, "nginx", "lacquer.conf")) as f:
        conf = f.read()
    upstream = re.findall(r"^\s*server\s+([\w.-]+):(\d+)", conf, re.M)
    assert sorted(h for h, _ in upstream) == ["lacquer-1", "lacquer-2"]
    port = default_of(services["lacquer-1"]["environment"]["WS_PORT"])
    assert all(p == port for _, p in upstream)
    assert "proxy_set_header Upgrade $http_upgrade" in conf and "hash $lacquer_route" in conf
    assert re.search(r"command:.*redis-server|redis-server", str(services["redis"]["command"]))


def test_compose_settings_are_known_and_accepted():
    c = compose()
    services = c["services"]
    serve_help = subprocess.run([BIN, "serve", "--help"], capture_output=True, text=True).stdout
    worker_help = subprocess.run([BIN, "worker", "--help"], capture_output=True,
                                 text=True).stdout
    env = {k: default_of(v) for k, v in services["lacquer-1"]["environment"].items()}
    for k in env:
        assert f"env {k}," in serve_help, f"compose sets {k}, which `lacquer serve` ignores"
    for k in services["worker"]["environment"]:
        assert k in worker_help, f"compose sets {k}, which `lacquer worker` ignores"
    cmd = services["worker"]["command"]
    assert cmd[0] == "worker"
    for tok in cmd[1:]:
        if tok.startswith("--"):
            assert tok in worker_help, f"`lacquer worker` has no option {tok}"
    # The instances' environment, as compose passes it, starts a healthy service
    # (only the listen address and port are the test's).
    env.pop("WS_HOST")
    env.pop("WS_PORT")
    srv = Server(env=env)
    try:
        with urllib.request.urlopen(srv.http + "/health", timeout=5) as r:
            assert r.status == 200
    finally:
        assert srv.close() == 0, srv.logs()
