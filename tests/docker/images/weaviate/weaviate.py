#!/usr/bin/python3
"""Stand-in for the Weaviate server binary (see the Dockerfile): its flags, its API-key
rules, its TLS endpoints, and RBAC as its documentation describes it (root users from
AUTHORIZATION_RBAC_ROOT_USERS, the predefined `viewer` role, roles and assignments through
/v1/authz, kept in the data folder); nothing of its database but collection names.

Backups as the documented REST API and the backup-filesystem module have them
(/v1/backups/filesystem[/<id>[/restore]], `manage_backups`): a backup is a folder
<BACKUP_FILESYSTEM_PATH>/<id> holding the collection names and backup_config.json with its
status, made as the module makes it (os.ModePerm, less the process's umask); a restore
refuses a collection that exists."""

import argparse
import fnmatch
import http.server
import json
import os
import re
import socket
import ssl
import sys
import threading
from pathlib import Path


def fail(message):
    print(f"weaviate stand-in: {message}", file=sys.stderr)
    sys.exit(1)


def api_keys():
    """Weaviate's rules: keys and users comma-separated, untrimmed, none empty; one user
    for all keys, or exactly one user per key."""
    if os.environ.get("AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED") != "false":
        fail("anonymous access is not switched off")
    if os.environ.get("AUTHENTICATION_APIKEY_ENABLED") != "true":
        fail("API-key authentication is not enabled")
    keys = os.environ.get("AUTHENTICATION_APIKEY_ALLOWED_KEYS", "").split(",")
    users = os.environ.get("AUTHENTICATION_APIKEY_USERS", "").split(",")
    if "" in keys or "" in users:
        fail("empty API key or user")
    if len(users) != 1 and len(users) != len(keys):
        fail(f"{len(keys)} keys but {len(users)} users")
    return dict(zip(keys, users * len(keys) if len(users) == 1 else users, strict=True))


def root_users():
    if os.environ.get("AUTHORIZATION_RBAC_ENABLED") != "true":
        fail("RBAC is not enabled")
    if os.environ.get("AUTHORIZATION_ADMINLIST_ENABLED") == "true":
        fail("the admin list and RBAC cannot both be enabled")
    roots = [u for u in os.environ.get("AUTHORIZATION_RBAC_ROOT_USERS", "").split(",") if u]
    if not roots:
        fail("RBAC needs at least one root user")
    return set(roots)


def tls_context(cert, key):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


BACKUP_ID = re.compile(r"[a-z0-9_-]+")


class Backups:
    """The backup-filesystem module: off unless ENABLE_MODULES names it."""

    def __init__(self, store):
        modules = os.environ.get("ENABLE_MODULES", "").split(",")
        path = os.environ.get("BACKUP_FILESYSTEM_PATH", "")
        if "backup-filesystem" in modules and not os.path.isabs(path):
            fail("backup-filesystem needs an absolute BACKUP_FILESYSTEM_PATH")
        self.root = Path(path) if "backup-filesystem" in modules else None
        self.store, self.restored = store, {}
        if self.root is not None:  # as the module's init does (createBackupsDir)
            os.makedirs(self.root, mode=0o777, exist_ok=True)

    def _write(self, path, data):
        os.makedirs(path.parent, mode=0o777, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o777)
        with os.fdopen(descriptor, "w") as out:
            out.write(json.dumps(data))

    def descriptor(self, backup_id):
        try:
            return json.loads((self.root / backup_id / "backup_config.json").read_text())
        except (OSError, ValueError):
            return None

    def create(self, backup_id):
        if not BACKUP_ID.fullmatch(backup_id or ""):
            return 422, {"error": [{"message": f"invalid backup id {backup_id!r}"}]}
        if self.descriptor(backup_id) is not None:
            return 422, {"error": [{"message": f"backup {backup_id!r} already exists"}]}
        classes = sorted(self.store.collections)
        if not classes:
            return 422, {"error": [{"message": "no available classes to backup"}]}
        folder = self.root / backup_id
        self._write(folder / "backup_config.json", {"id": backup_id, "status": "STARTED"})
        self._write(folder / "node1" / "classes.json", classes)
        self._write(
            folder / "backup_config.json",
            {"id": backup_id, "status": "SUCCESS", "classes": classes},
        )
        return 200, {"id": backup_id, "backend": "filesystem", "status": "STARTED"}

    def status(self, backup_id):
        found = self.descriptor(backup_id)
        if found is None:
            return 404, {"error": [{"message": f"backup {backup_id!r} not found"}]}
        return 200, {"id": backup_id, "backend": "filesystem", "status": found["status"]}

    def restore(self, backup_id):
        found = self.descriptor(backup_id)
        if found is None:
            return 404, {"error": [{"message": f"backup id {backup_id!r} does not exist"}]}
        if found.get("status") != "SUCCESS":
            return 422, {"error": [{"message": f"invalid backup status {found.get('status')}"}]}
        classes = json.loads((self.root / backup_id / "node1" / "classes.json").read_text())
        existing = [c for c in classes if c in self.store.collections]
        if existing:
            return 422, {"error": [{"message": f"restore class {existing[0]}: already exists"}]}
        self.store.collections.update(classes)
        self.store.save()
        self.restored[backup_id] = "SUCCESS"
        return 200, {"id": backup_id, "backend": "filesystem", "status": "STARTED"}


class Store:
    """Roles, assignments and collection names, kept in the data folder across restarts."""

    def __init__(self, folder):
        self.path = Path(folder) / "stand-in-rbac.json"
        self.lock = threading.Lock()
        data = json.loads(self.path.read_text()) if self.path.exists() else {}
        self.roles = data.get("roles", {})
        self.assigned = {u: set(r) for u, r in data.get("assigned", {}).items()}
        self.collections = set(data.get("collections", []))

    def save(self):
        self.path.write_text(
            json.dumps(
                {
                    "roles": self.roles,
                    "assigned": {u: sorted(r) for u, r in self.assigned.items()},
                    "collections": sorted(self.collections),
                }
            )
        )

    def allowed(self, user, roots, action, collection):
        if user in roots:
            return True
        roles = self.assigned.get(user, set())
        if "viewer" in roles and action.startswith("read_"):
            return True
        for role in roles:
            for permission in self.roles.get(role, []):
                scope = (
                    permission.get("collections")
                    or permission.get("data")
                    or permission.get("backups")
                    or {}
                )
                if permission.get("action") == action and fnmatch.fnmatchcase(
                    collection, scope.get("collection", "")
                ):
                    return True
        return False


def main():
    parser = argparse.ArgumentParser()
    for flag in ("--scheme", "--tls-host", "--tls-port", "--tls-certificate", "--tls-key"):
        parser.add_argument(flag, required=True)
    args = parser.parse_args()
    if args.scheme != "https":
        fail("only https is served")
    keys = api_keys()
    roots = root_users()
    store = Store(os.environ.get("PERSISTENCE_DATA_PATH", "/var/lib/weaviate"))
    backups = Backups(store)

    class Handler(http.server.BaseHTTPRequestHandler):
        def user(self):
            token = self.headers.get("Authorization", "").removeprefix("Bearer ")
            return keys.get(token)

        def body(self):
            length = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(length) or b"{}")

        def do_GET(self):
            if self.path == "/v1/.well-known/ready":
                return self.reply(200, {})
            user = self.user()
            if user is None:
                return self.reply(401, {"error": "unauthorized"})
            if self.path.startswith("/v1/schema/"):
                name = self.path.removeprefix("/v1/schema/")
                if not store.allowed(user, roots, "read_collections", name):
                    return self.reply(403, {"error": "forbidden"})
                return self.reply(200 if name in store.collections else 404, {"class": name})
            if self.path == "/v1/schema":
                readable = sorted(
                    name
                    for name in store.collections
                    if store.allowed(user, roots, "read_collections", name)
                )
                return self.reply(200, {"classes": [{"class": name} for name in readable]})
            if self.path.startswith("/v1/backups/"):
                return self.backup(user, "GET")
            if self.path.startswith("/v1/authz/users/") and self.path.endswith("/roles/db"):
                if user not in roots:
                    return self.reply(403, {"error": "forbidden"})
                who = self.path.split("/")[4]
                return self.reply(200, sorted(store.assigned.get(who, set())))
            return self.reply(200, {"user": user})

        def do_POST(self):
            user = self.user()
            if user is None:
                return self.reply(401, {"error": "unauthorized"})
            body = self.body()
            with store.lock:
                if self.path.startswith("/v1/backups/"):
                    return self.backup(user, "POST", body)
                if self.path.startswith("/v1/authz/"):
                    return self.authz(user, body)
                if self.path == "/v1/schema":
                    name = body.get("class", "")
                    if not store.allowed(user, roots, "create_collections", name):
                        return self.reply(403, {"error": "forbidden"})
                    store.collections.add(name)
                    store.save()
                    return self.reply(200, {"class": name})
                if self.path == "/v1/objects":
                    name = body.get("class", "")
                    if not store.allowed(user, roots, "create_data", name):
                        return self.reply(403, {"error": "forbidden"})
                    return self.reply(200 if name in store.collections else 422, {"class": name})
            return self.reply(404, {"error": "not found"})

        def backup(self, user, method, body=None):
            parts = self.path.split("/")[3:]  # filesystem[/<id>[/restore]]
            if parts[0] != "filesystem" or backups.root is None:
                return self.reply(
                    422, {"error": [{"message": f"no backup backend {parts[0]!r}, did you "
                                     "enable the right module?"}]}
                )  # fmt: skip
            if not store.allowed(user, roots, "manage_backups", "*"):
                return self.reply(403, {"error": "forbidden"})
            if method == "POST" and len(parts) == 1:
                return self.reply(*backups.create(body.get("id")))
            if method == "GET" and len(parts) == 2:
                return self.reply(*backups.status(parts[1]))
            if method == "POST" and len(parts) == 3 and parts[2] == "restore":
                return self.reply(*backups.restore(parts[1]))
            if method == "GET" and len(parts) == 3 and parts[2] == "restore":
                status = backups.restored.get(parts[1])
                return self.reply(200 if status else 404, {"id": parts[1], "status": status})
            return self.reply(404, {"error": "not found"})

        def authz(self, user, body):
            if user not in roots:  # role management: root only in this platform
                return self.reply(403, {"error": "forbidden"})
            parts = self.path.split("/")
            if self.path == "/v1/authz/roles":
                if body["name"] in store.roles or body["name"] in ("root", "viewer"):
                    return self.reply(409, {"error": "role exists"})
                store.roles[body["name"]] = body["permissions"]
            elif self.path.startswith("/v1/authz/roles/") and parts[-1] == "add-permissions":
                name = parts[4]
                if name not in store.roles:
                    return self.reply(404, {"error": "no such role"})
                store.roles[name] += [p for p in body["permissions"] if p not in store.roles[name]]
            elif self.path.startswith("/v1/authz/users/") and parts[-1] == "assign":
                who = parts[4]
                if who not in keys.values() or body.get("userType") != "db":
                    return self.reply(404, {"error": "no such db user"})
                unknown = [r for r in body["roles"] if r not in store.roles and r != "viewer"]
                if unknown:
                    return self.reply(400, {"error": f"unknown roles {unknown}"})
                store.assigned.setdefault(who, set()).update(body["roles"])
            else:
                return self.reply(404, {"error": "not found"})
            store.save()
            return self.reply(201 if self.path == "/v1/authz/roles" else 200, {})

        def reply(self, code, body):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    # Inside the container, like Weaviate's own gRPC listener.
    grpc = socket.create_server(("0.0.0.0", int(os.environ["GRPC_PORT"])))  # noqa: S104
    grpc_tls = tls_context(os.environ["GRPC_CERT_FILE"], os.environ["GRPC_KEY_FILE"])

    def serve_grpc():
        while True:
            conn, _ = grpc.accept()
            try:
                grpc_tls.wrap_socket(conn, server_side=True).close()
            except (ssl.SSLError, OSError):
                conn.close()

    threading.Thread(target=serve_grpc, daemon=True).start()
    server = http.server.ThreadingHTTPServer((args.tls_host, int(args.tls_port)), Handler)
    server.socket = tls_context(args.tls_certificate, args.tls_key).wrap_socket(
        server.socket, server_side=True
    )
    server.serve_forever()


main()
