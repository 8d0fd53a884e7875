"""The Swarm target (`target: swarm`): what a single host allows and a Swarm cannot do, what
only a Swarm can do, and what prod demands of one.

- An image built on one host reaches no other node: every container runs a published image.
- Only the platform's entry is published (host mode, on each node labelled `edge`); a
  service that keeps state runs once on its data node and is reached through the edge.
- Host-mode publishing binds every address of the node: `network.bindAddress` says so
  (0.0.0.0), so no one reads 127.0.0.1 and believes the port is private.
- Replicas exist only on a Swarm; a single host runs one container per app.
- An app with replicas is kept apart over the app nodes, which the stack says how many
  there are (`swarm.appNodes`; the placement cannot see the Swarm at preview).
- Prod: the gateway survives a lost node (2 replicas or more, 2 app nodes or more); overlays
  are encrypted."""

from __future__ import annotations

from collections.abc import Iterator

from stacks.problems import Problem, config_key
from stacks.rules.raw import Raw, integer, runners, section, set_hint
from stacks.services import Catalogue
from stacks.values import boolean

PROD_GATEWAY_REPLICAS = 2
PROD_APP_NODES = 2
ALL_ADDRESSES = {"0.0.0.0", "::"}  # noqa: S104 (what host-mode publishing binds)


def _apps(raw: Raw, catalogue: Catalogue) -> Iterator[tuple[tuple[str | int, ...], Raw]]:
    """(config path, raw settings) of every enabled VOS app: the consumer services, the
    agents."""
    return ((run.path, run.values) for run in runners(raw, catalogue) if run.app)


def builds(raw: Raw, catalogue: Catalogue) -> Iterator[Problem]:
    if raw.get("target") != "swarm":
        return
    for path, values, _, buildable in runners(raw, catalogue):
        if buildable and values.get("build") is not None:  # else rules/images.py refuses it
            yield Problem(
                (*path, "build"),
                "builds the image on one host, and a Swarm's other nodes cannot run it",
                set_hint((*path, "image"), "'<registry>/<repository>:<tag>@sha256:<digest>'")
                + " (pushed to a registry every node trusts; a stack's image replaces the "
                "profile's build, and a build the stack sets itself goes with pulumi config rm "
                f"--path '{config_key((*path, 'build'))}')",
            )


def published_entry_only(raw: Raw, catalogue: Catalogue) -> Iterator[Problem]:
    if raw.get("target") != "swarm":
        return
    network = section(raw, "network")
    entries = [d.key for d in catalogue if d.swarm_entry]
    for key in section(network, "publishedPorts"):
        if key in catalogue.keys and not catalogue.get(key).swarm_entry:
            port = ("network", "publishedPorts", key)
            yield Problem(
                port,
                f"on a Swarm only the platform's entry ({', '.join(entries)}) is published: "
                f"{key} runs on one node, and publishing it would open it on every node",
                f"pulumi config rm --path '{config_key(port)}' (a null there in "
                "Pulumi.<stack>.yaml removes the profile's entry)",
            )
    address = network.get("bindAddress")
    if isinstance(address, str) and address not in ALL_ADDRESSES:
        path = ("network", "bindAddress")
        yield Problem(
            path,
            f"a Swarm publishes in host mode on every address of each edge node, not on "
            f"{address} only",
            set_hint(path, "0.0.0.0")  # noqa: S104
            + " (and let the hosts' firewall decide who reaches it)",
        )


def replicas(raw: Raw, catalogue: Catalogue) -> Iterator[Problem]:
    target, prod = raw.get("target", "docker"), raw.get("environment") == "prod"
    for path, values in _apps(raw, catalogue):
        count = integer(values.get("replicas", 1))
        if count is None:
            continue  # the field rule reports it
        if target != "swarm" and count > 1:
            yield Problem(
                (*path, "replicas"),
                f"is {count}, but a single Docker host runs one container per app",
                set_hint((*path, "replicas"), "1")
                + " or deploy to a Swarm: pulumi config set vos-infra:target swarm",
            )
        gateway = path[0] == "services"
        if target == "swarm" and prod and gateway and count < PROD_GATEWAY_REPLICAS:
            yield Problem(
                (*path, "replicas"),
                f"is {count}: in prod the gateway runs {PROD_GATEWAY_REPLICAS} tasks or more, "
                "so a lost node or a rolling update leaves one serving",
                set_hint((*path, "replicas"), str(PROD_GATEWAY_REPLICAS)),
            )


def app_nodes(raw: Raw, catalogue: Catalogue) -> Iterator[Problem]:
    if raw.get("target") != "swarm":
        return
    path = ("swarm", "appNodes")
    nodes = integer(section(raw, "swarm").get("appNodes"))
    hint = ' (or however many hosts have swarm_labels apps: "true" in the host layer\'s inventory)'
    if raw.get("environment") == "prod" and nodes is not None and nodes < PROD_APP_NODES:
        yield Problem(
            path,
            f"is {nodes}: in prod the gateway's tasks run on {PROD_APP_NODES} nodes or more, "
            "so a lost node leaves one serving",
            set_hint(path, str(PROD_APP_NODES)) + hint,
        )
    if nodes is not None or section(raw, "swarm").get("appNodes") is not None:
        return  # set (the field rule reports a value that is not a number)
    for app, values in _apps(raw, catalogue):
        count = integer(values.get("replicas", 1))
        if count is not None and count > 1:
            yield Problem(
                path,
                f"is not set, but {config_key((*app, 'replicas'))} is {count}: an app's tasks "
                "are kept apart (so a lost node never takes them all) over the nodes labelled "
                "apps, and the program cannot count them at preview",
                set_hint(path, str(PROD_APP_NODES)) + hint,
            )
            return


def prod_encryption(raw: Raw, catalogue: Catalogue) -> Iterator[Problem]:
    if raw.get("target") != "swarm" or raw.get("environment") != "prod":
        return
    value = section(raw, "swarm").get("encryptedOverlays", True)
    if boolean(value) is False:
        path = ("swarm", "encryptedOverlays")
        yield Problem(
            path,
            "is false: in prod the overlays between nodes carry the platform's traffic "
            "encrypted (IPsec)",
            set_hint(path, "true") + " (every node's kernel needs the esp4 module)",
        )
