"""The topology stays legible as it grows (issue 17, item 4): 40 real containers at 1024 px wide.

Labels by zoom level: at the default zoom every label drawn is at least 11 px on screen (smaller
ones are hidden, their names on hover); networks and hosts stay labelled in the overview;
containers get theirs when zoomed in, without overlapping; a network's containers fold into a
count; the legend starts folded at this width and covers no node."""
import pytest

from dockerweb.inventory.services import host_reconcile
from tests.topology.test_page import open_graph

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

IMAGE = "dockerweb-test/busybox:latest"

# Every visible node whose label shows, with its on-screen type size (model font size x zoom).
LABELS = """() => {
  const cy = window.dwTopologyPage.cy, z = cy.zoom();
  return cy.nodes(':visible').filter(n => (n.style('label') || '').length > 0).map(n => ({
    id: n.id(), kind: n.data('kind'), label: n.style('label'), px: parseFloat(n.style('font-size')) * z}));
}"""

# Rendered boxes (with labels) of the visible nodes, in page coordinates.
NODE_BOXES = """() => {
  const cy = window.dwTopologyPage.cy, c = cy.container().getBoundingClientRect();
  return cy.nodes(':visible').map(n => {
    const b = n.renderedBoundingBox({includeLabels: true});
    return {id: n.id(), x1: b.x1 + c.left, y1: b.y1 + c.top, x2: b.x2 + c.left, y2: b.y2 + c.top};
  });
}"""


def overlaps(a, b):
    return a["x1"] < b["x2"] and b["x1"] < a["x2"] and a["y1"] < b["y2"] and b["y1"] < a["y2"]


@pytest.fixture
def forty(engine):
    """40 busybox containers running `sleep`: 25 on a user network, 15 on the default bridge; 10
    named volumes and one anonymous (64-hex) volume mounted among them."""
    net = engine.networks.create("dw-leg-net", driver="bridge")
    anon = engine.volumes.create()  # a 64-hex name, as `docker run -v /data` makes
    made = []
    for i in range(40):
        vols = {f"dw-leg-vol{i}": {"bind": "/data", "mode": "rw"}} if i < 10 else {}
        if i == 10:
            vols = {anon.name: {"bind": "/data", "mode": "rw"}}
        made.append(engine.containers.run(IMAGE, ["sleep", "600"], name=f"dw-leg-{i:02d}", detach=True,
                                          network=net.name if i < 25 else "bridge", volumes=vols))
    return {"net": net, "containers": made, "anon": anon.name}


def test_forty_containers_stay_legible_at_1024(asgi_server, page, make_user, host, forty, artifacts_dir):
    host_reconcile(host=host)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.set_viewport_size({"width": 1024, "height": 768})
    open_graph(page, asgi_server, make_user("viewer"))
    cy = "window.dwTopologyPage.cy"
    assert page.evaluate(f"{cy}.nodes('.container').length") >= 40
    # The default view shows the whole graph: every visible node inside the canvas.
    canvas = page.locator("#topo-graph").bounding_box()
    outside = [n["id"] for n in page.evaluate(NODE_BOXES)
               if n["x1"] < canvas["x"] or n["y1"] < canvas["y"] or n["x2"] > canvas["x"] + canvas["width"]
               or n["y2"] > canvas["y"] + canvas["height"]]
    assert outside == []

    # Default zoom: whatever shows is readable; the networks and the host are labelled.
    shown = page.evaluate(LABELS)
    small = [(s["label"], round(s["px"], 1)) for s in shown if s["px"] < 11]
    assert small == [], f"labels under 11 px at the default zoom: {small}"
    kinds = {s["kind"] for s in shown}
    assert {"network", "host"} <= kinds, shown
    assert any(s["label"].startswith("dw-leg-net") for s in shown)
    print(f"default zoom {page.evaluate(f'{cy}.zoom()'):.2f}: {len(shown)} labels shown, "
          f"smallest {min(s['px'] for s in shown):.1f} px")
    # A hidden name is still there on hover, whole.
    anon_label = page.evaluate(f"{cy}.nodes('.volume').filter(n => n.data('full') === '{forty['anon']}')[0].data('label')")
    assert anon_label == forty["anon"][:12] + "\u2026"  # 64-hex names are shortened on the canvas
    page.screenshot(path=str(artifacts_dir / "topology-40-1024-default.png"))

    # The legend starts folded at this width and covers no node.
    assert page.evaluate("document.getElementById('topo-legend').open") is False
    legend = page.locator("#topo-legend").bounding_box()
    box = {"x1": legend["x"], "y1": legend["y"], "x2": legend["x"] + legend["width"], "y2": legend["y"] + legend["height"]}
    covered = [n["id"] for n in page.evaluate(NODE_BOXES) if overlaps(n, box)]
    assert covered == []

    # Zoomed in on the user network: its containers are labelled, readable, and not on top of each other.
    page.evaluate(f"""() => {{
        const cy = {cy}, hub = cy.nodes('.network').filter(n => n.data('d').name === 'dw-leg-net')[0];
        cy.zoom({{level: 1.2, renderedPosition: hub.renderedPosition()}});
        cy.center(hub);
    }}""")
    shown = page.evaluate(LABELS)
    ctr = [s for s in shown if s["kind"] == "container"]
    assert len(ctr) >= 10 and all(s["px"] >= 11 for s in shown)
    boxes = page.evaluate(f"""() => {{
        const cy = {cy};
        return cy.nodes('.container:visible').filter(n => (n.style('label') || '').length > 0).map(n => {{
          const b = n.boundingBox({{includeNodes: false, includeEdges: false, includeLabels: true}});
          return {{id: n.data('label'), x1: b.x1, y1: b.y1, x2: b.x2, y2: b.y2}};
        }});
    }}""")
    clash = [(a["id"], b["id"]) for i, a in enumerate(boxes) for b in boxes[i + 1:] if overlaps(a, b)]
    assert clash == []
    page.screenshot(path=str(artifacts_dir / "topology-40-1024-zoomed.png"))

    # Fold every network's containers into a count: the graph shrinks to its hubs, still readable.
    page.check("input[name=collapse]")
    page.wait_for_function(f"() => {cy}.nodes('.container:visible').length === 0")
    labels = {s["label"] for s in page.evaluate(LABELS)}
    assert any(label.startswith("dw-leg-net") and label.endswith("25 containers") for label in labels), labels
    assert all(s["px"] >= 11 for s in page.evaluate(LABELS))
    page.screenshot(path=str(artifacts_dir / "topology-40-1024-folded.png"))
    # Back, and one network folded from its details panel.
    page.uncheck("input[name=collapse]")
    page.wait_for_function(f"() => {cy}.nodes('.container:visible').length >= 40")
    page.evaluate(f"{cy}.nodes('.network').filter(n => n.data('d').name === 'dw-leg-net')[0].emit('tap')")
    page.click("#topo-collapse")
    visible = page.evaluate(f"{cy}.nodes('.container:visible').map(n => n.data('label'))")
    assert len(visible) == 15 and all(int(v.split("-")[-1]) >= 25 for v in visible)
    assert page.locator("#topo-collapse").inner_text() == "Show its containers"
    assert errors == []
