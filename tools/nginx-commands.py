#!/usr/bin/env python3
"""Extract nginx's directive tables (ngx_command_t) into data/nginx-directives.tsv.

Usage: tools/nginx-commands.py NGINX_GIT_DIR TAG > data/nginx-directives-1.22.1.tsv
  e.g. tools/nginx-commands.py ~/src/nginx/.git release-1.22.1
       tools/nginx-commands.py --newer NGINX_GIT_DIR release-1.22.1 > data/nginx-directives-newer.tsv
  (--newer: the directives later releases added, with the first release that has
  each, so that a configuration written for a newer nginx is not called broken)

Reads every `static ngx_command_t xxx[] = { ... ngx_null_command }` table of the
tag's sources, the module that owns it (the `ngx_module_t` naming the table) and the
module's type, and writes one line per directive:

  name  module  type  contexts  args  build

contexts: where nginx accepts it (main events http server location upstream if
limit_except stream stream-server stream-upstream mail mail-server any), from the
NGX_*_CONF bits and the module type; args: the NGX_CONF_* argument flags; build:
`static` or `dynamic:<file>.so` as Debian 12's nginx 1.22.1 is configured (`nginx -V`),
`-` for modules that build does not include (kept out of the file).
Every `#if` inside a command table is true for that build (SSL, cache, gzip, openat).
"""
import re
import subprocess
import sys

# Debian 12 (bookworm) nginx 1.22.1, `nginx -V`: what is not built at all, and what
# is a dynamic module (its .so file, as `load_module modules/X.so;` names it).
NOT_BUILT = {
    "ngx_devpoll_module", "ngx_eventport_module", "ngx_iocp_module", "ngx_kqueue_module",
    "ngx_win32_poll_module", "ngx_win32_select_module", "ngx_http_degradation_module",
    "ngx_google_perftools_module",
}
DYNAMIC_FILES = {
    "src/http/modules/ngx_http_geoip_module.c": "ngx_http_geoip_module.so",
    "src/http/modules/ngx_http_image_filter_module.c": "ngx_http_image_filter_module.so",
    "src/http/modules/perl/ngx_http_perl_module.c": "ngx_http_perl_module.so",
    "src/http/modules/ngx_http_xslt_filter_module.c": "ngx_http_xslt_filter_module.so",
    "src/stream/ngx_stream_geoip_module.c": "ngx_stream_geoip_module.so",
}
DYNAMIC_DIRS = {"src/stream/": "ngx_stream_module.so", "src/mail/": "ngx_mail_module.so"}

CONTEXTS = {
    "NGX_CORE_MODULE": {"NGX_MAIN_CONF": "main"},
    "NGX_CONF_MODULE": {"NGX_ANY_CONF": "any"},
    "NGX_EVENT_MODULE": {"NGX_EVENT_CONF": "events"},
    "NGX_HTTP_MODULE": {
        "NGX_HTTP_MAIN_CONF": "http", "NGX_HTTP_SRV_CONF": "server",
        "NGX_HTTP_LOC_CONF": "location", "NGX_HTTP_UPS_CONF": "upstream",
        "NGX_HTTP_SIF_CONF": "server-if", "NGX_HTTP_LIF_CONF": "location-if",
        "NGX_HTTP_LMT_CONF": "limit_except",
    },
    "NGX_STREAM_MODULE": {
        "NGX_STREAM_MAIN_CONF": "stream", "NGX_STREAM_SRV_CONF": "stream-server",
        "NGX_STREAM_UPS_CONF": "stream-upstream",
    },
    "NGX_MAIL_MODULE": {"NGX_MAIL_MAIN_CONF": "mail", "NGX_MAIL_SRV_CONF": "mail-server"},
}
ARG_FLAGS = {
    "NGX_CONF_NOARGS", "NGX_CONF_TAKE1", "NGX_CONF_TAKE2", "NGX_CONF_TAKE3",
    "NGX_CONF_TAKE4", "NGX_CONF_TAKE5", "NGX_CONF_TAKE6", "NGX_CONF_TAKE7",
    "NGX_CONF_TAKE12", "NGX_CONF_TAKE13", "NGX_CONF_TAKE23", "NGX_CONF_TAKE123",
    "NGX_CONF_TAKE1234", "NGX_CONF_1MORE", "NGX_CONF_2MORE", "NGX_CONF_FLAG",
    "NGX_CONF_BLOCK", "NGX_CONF_ANY",
}
IGNORED = {"NGX_DIRECT_CONF"}


def git(gitdir, *args):
    return subprocess.run(["git", "--git-dir", gitdir, *args], check=True,
                          capture_output=True, text=True).stdout


def extract(gitdir, tag):
    files = [f for f in git(gitdir, "ls-tree", "-r", "--name-only", tag, "src").split()
             if f.endswith(".c") and not f.startswith("src/os/")]
    rows = []
    for path in files:
        text = git(gitdir, "show", f"{tag}:{path}")
        # ngx_module_t NAME = { ctx, commands, TYPE, ... }
        modules = {}
        for m in re.finditer(r"ngx_module_t\s+(\w+)\s*=\s*\{(.*?)\};", text, re.S):
            body = m.group(2)
            table = re.search(r"\b(ngx_\w+_commands)\b", body)
            mtype = re.search(r"\b(NGX_\w+_MODULE)\b", body)
            if table and mtype:
                modules[table.group(1)] = (m.group(1), mtype.group(1))
        for t in re.finditer(r"static\s+ngx_command_t\s+(\w+)\[\]\s*=\s*\{(.*?)ngx_null_command",
                             text, re.S):
            if t.group(1) not in modules:
                sys.exit(f"{path}: table {t.group(1)} has no module")
            module, mtype = modules[t.group(1)]
            if module in NOT_BUILT:
                continue
            build = "static"
            if path in DYNAMIC_FILES:
                build = "dynamic:" + DYNAMIC_FILES[path]
            else:
                for d, so in DYNAMIC_DIRS.items():
                    if path.startswith(d):
                        build = "dynamic:" + so
            for e in re.finditer(r"\{\s*ngx_string\(\"([^\"]+)\"\),\s*([A-Z0-9_|\s]+?),", t.group(2)):
                name = e.group(1)
                flags = [f.strip() for f in e.group(2).split("|") if f.strip()]
                ctx, args = [], []
                for f in flags:
                    if f in ARG_FLAGS:
                        args.append(f.removeprefix("NGX_CONF_"))
                    elif f in IGNORED:
                        continue
                    elif f == "NGX_ANY_CONF":
                        ctx.append("any")
                    elif f in CONTEXTS[mtype]:
                        ctx.append(CONTEXTS[mtype][f])
                    elif f == "NGX_MAIN_CONF":
                        ctx.append("main")
                    else:
                        sys.exit(f"{path}: {name}: flag {f} unknown for {mtype}")
                rows.append((name, module, mtype.removeprefix("NGX_").removesuffix("_MODULE").lower(),
                             ",".join(ctx), ",".join(args) or "NOARGS?", build))
    return rows


def newer(gitdir, base):
    def key(t):
        return tuple(int(x) for x in t.removeprefix("release-").split("."))
    tags = sorted((t for t in git(gitdir, "tag").split()
                   if re.fullmatch(r"release-\d+\.\d+\.\d+", t) and key(t) > key(base)), key=key)
    known = {r[0] for r in extract(gitdir, base)}
    first = {}
    for t in tags:
        for r in extract(gitdir, t):
            if r[0] not in known and r[0] not in first:
                first[r[0]] = (t.removeprefix("release-"), r[1])
    print(f"# directives added to nginx after {base}, with the first release that has them")
    print("# name\tsince\tmodule")
    for name, (since, module) in sorted(first.items(), key=lambda x: (key("release-" + x[1][0]), x[0])):
        print(f"{name}\t{since}\t{module}")


def main():
    if sys.argv[1] == "--newer":
        newer(sys.argv[2], sys.argv[3])
        return
    gitdir, tag = sys.argv[1], sys.argv[2]
    rows = extract(gitdir, tag)
    print(f"# nginx directives of {tag}, read from its ngx_command_t tables by tools/nginx-commands.py")
    print("# build: as Debian 12's nginx 1.22.1 is configured (nginx -V); dynamic modules need load_module")
    print("# name\tmodule\ttype\tcontexts\targs\tbuild")
    for r in rows:
        print("\t".join(r))


main()
