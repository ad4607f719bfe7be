"""Live topology: turn mirror changes into `topology.patch` operations.

The host's producer (`producer`) keeps a `TopologyState`: the fragments it has already sent
(see `selectors`). When objects change, only their fragments are read again from the mirror
and the difference becomes add/update/remove operations with the API's ids. A `host`
change (reconcile, reachability) reads the whole host again. Diffs are exact, so a burst of
changes to the same objects costs one read and sends only what differs at the end (an object
added and removed again in between sends nothing: that is its final state)."""
from __future__ import annotations

from dataclasses import dataclass, field

from dockerweb.inventory.models import Host

from . import selectors
from .selectors import Element, Fragment


def _contract(el: Element) -> dict:
    if el["group"] == "node":
        return {"id": el["id"], "kind": el["kind"], "label": el["label"], "data": el["data"]}
    return {"id": el["id"], "source": el["source"], "target": el["target"], "kind": el["kind"], "data": el["data"]}


@dataclass
class TopologyState:
    """What the host's producer last sent of its graph."""

    host: str
    host_obj: Host | None = None  # kept for object changes (only its pk and name are read)
    fragments: dict[str, Fragment] = field(default_factory=dict)
    index: dict[str, set[str]] = field(default_factory=dict)  # element id → owners that hold it

    def element(self, eid: str) -> Element | None:
        for owner in self.index.get(eid, ()):
            el = self.fragments[owner].get(eid)
            if el is not None:
                return el
        return None

    def replace(self, new: dict[str, Fragment], everything: bool = False) -> list[dict]:
        """Replace the fragments of the owners in `new` (all owners if `everything`) and return
        the patch operations that turn the old graph into the new one."""
        owners = set(new)
        if everything:
            owners |= set(self.fragments)
        affected: set[str] = set()
        for owner in owners:
            affected.update(self.fragments.get(owner, {}))
            affected.update(new.get(owner, {}))
        before = {eid: self.element(eid) for eid in affected}
        for owner in owners:
            for eid in self.fragments.get(owner, {}):
                holders = self.index.get(eid)
                if holders is not None:
                    holders.discard(owner)
                    if not holders:
                        del self.index[eid]
            frag = new.get(owner) or {}
            if frag:
                self.fragments[owner] = frag
                for eid in frag:
                    self.index.setdefault(eid, set()).add(owner)
            else:
                self.fragments.pop(owner, None)
        ops: dict[str, list[dict]] = {"edge-remove": [], "node-remove": [], "node-add": [], "edge-add": [], "update": []}
        for eid in sorted(affected):
            old, cur = before[eid], self.element(eid)
            if old is None and cur is None:
                continue
            if old is None:
                ops[f"{cur['group']}-add"].append({"op": "add", "kind": cur["group"], "id": eid, "data": _contract(cur)})
            elif cur is None:
                ops[f"{old['group']}-remove"].append({"op": "remove", "kind": old["group"], "id": eid, "data": None})
            elif old != cur:
                ops["update"].append({"op": "update", "kind": cur["group"], "id": eid, "data": _contract(cur)})
        return [*ops["edge-remove"], *ops["node-remove"], *ops["node-add"], *ops["edge-add"], *ops["update"]]


def topology_state_load(*, host: Host) -> TopologyState:
    """A state holding the host's whole graph as the mirror has it now."""
    state = TopologyState(host=host.name, host_obj=host)
    state.replace(selectors.host_fragments(host=host))
    return state


def topology_patch(*, state: TopologyState, changes: set[tuple[str, str]]) -> list[dict]:
    """Operations for the `(kind, id)` mirror changes (kinds of `core.live.mirror_changed`), applied to
    `state`. A `host` change or an unknown host rereads everything."""
    if any(kind == "host" for kind, _ in changes) or state.host_obj is None:
        host = state.host_obj = Host.objects.filter(name=state.host).first()
        if host is None:
            return state.replace({}, everything=True)
        return state.replace(selectors.host_fragments(host=host), everything=True)
    host = state.host_obj
    keys = {selectors.owner_key(kind, ident) for kind, ident in changes if kind in ("network", "container", "volume")}
    if not keys:
        return []
    return state.replace(selectors.object_fragments(host=host, keys=keys))
