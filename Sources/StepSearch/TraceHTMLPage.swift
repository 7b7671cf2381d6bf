import Foundation

extension TraceHTML {
    /// The page around the pre-rendered header and SVG; `json` must already be safe inside
    /// <script> (see `embeddedJSON`). Three scripts: an error hook first (it records script
    /// errors in the DOM, `data-errors` on <html>, so a headless check can see them), the
    /// JSON data block, and the viewer, which sets `data-ready="1"` on <html> when done.
    static func page(title: String, header: String, svg: String, width: Double, height: Double,
                     json: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width,initial-scale=1">
        <title>\(escape(title))</title>
        <script>\(errorHook)</script>
        <style>\(style)</style></head><body>
        <header>
        \(header)
        <div class="legend"><span class="bar"></span><span>fill: value 0 → 1</span><span>width: visits</span>
        <span class="chosen-key">blue: chosen path</span><span>dashed, faded: pruned</span>
        <span class="cut-key">red ring: cut by the budget</span><span>rounded: finished</span>
        <span class="tools"><button id="zoom-in" title="zoom in (ctrl+wheel)">+</button><button id="zoom-out" title="zoom out">−</button>
        <button id="fit">Fit</button><button id="show-chosen">Chosen trajectory</button></span></div>
        <div id="errors" hidden></div>
        </header>
        <main><div id="tree"><svg id="svg" xmlns="http://www.w3.org/2000/svg" width="100%" height="100%" data-w="\(format1(width))" data-h="\(format1(height))">
        <g id="viewport">
        \(svg)
        </g></svg></div>
        <div id="panel"><p>Click a node to see its text, each step shaded by its SPRM score.</p></div></main>
        <script type="application/json" id="trace-data">\(json)</script>
        <script>\(viewer)</script>
        </body></html>
        """
    }

    static let errorHook = #"""
    (function(){
      function note(msg){
        var root = document.documentElement;
        root.setAttribute('data-errors', String(+(root.getAttribute('data-errors') || 0) + 1));
        var box = document.getElementById('errors');
        if (box) { box.hidden = false; box.textContent += 'Script error: ' + msg + '\n'; }
      }
      window.addEventListener('error', function(e){ note(e.message + ' (line ' + e.lineno + ')'); });
      window.addEventListener('unhandledrejection', function(e){ note(String(e.reason)); });
    })();
    """#

    static let style = #"""
    *{box-sizing:border-box}
    body{font:14px system-ui,sans-serif;margin:0;display:flex;flex-direction:column;height:100vh;color:#222}
    header{padding:6px 12px;background:#f5f5f5;border-bottom:1px solid #ccc}
    .facts span{margin-right:16px;white-space:nowrap}
    .meter{display:inline-block;width:90px;height:8px;background:#ddd;border-radius:4px;overflow:hidden;vertical-align:middle}
    .meter i{display:block;height:100%;background:#1565c0}
    .qa{display:flex;gap:16px;margin:4px 0}
    .q,.a{flex:1;white-space:pre-wrap;max-height:4.6em;overflow:auto}
    .legend{font-size:12px;color:#444}.legend span{margin-right:12px}
    .legend .bar{display:inline-block;width:60px;height:10px;vertical-align:middle;background:linear-gradient(90deg,hsl(0,65%,60%),hsl(60,65%,60%),hsl(120,65%,60%))}
    .chosen-key{color:#1565c0;font-weight:600}.cut-key{color:#d00}
    .tools button{margin-left:4px}
    #errors{color:#b00;white-space:pre-wrap;font-weight:600}
    main{flex:1;display:flex;min-height:0}
    #tree{flex:3;min-width:0;border-right:1px solid #ccc;background:#fff;cursor:grab;touch-action:none}
    #tree.dragging{cursor:grabbing}
    #panel{flex:2;min-width:0;overflow:auto;padding:8px 14px}
    svg{display:block;user-select:none}
    .edge{fill:none;stroke:#b0b0b0;stroke-width:1;vector-effect:non-scaling-stroke}
    .edge.pruned{stroke-dasharray:3 3}
    .edge.chosen{stroke:#1565c0;stroke-width:3}
    .node{stroke:#555;stroke-width:1;cursor:pointer;vector-effect:non-scaling-stroke}
    .node.chosen{stroke:#1565c0;stroke-width:2.5}
    .node.pruned{stroke-dasharray:3 2;opacity:.45}
    .node.cut{stroke:#d00;stroke-width:2.5}
    .node.root{stroke:#000;stroke-width:2}
    .node.selected{stroke:#ff6d00;stroke-width:4}
    .nodes text{font:9px ui-monospace,monospace;fill:#111;pointer-events:none}
    .stats{color:#444}.stats b{color:#222}
    .link{background:none;border:0;padding:0 2px;color:#1565c0;text-decoration:underline;cursor:pointer;font:inherit}
    .text{white-space:pre-wrap;font:13px/1.5 ui-monospace,monospace;border:1px solid #ddd;padding:6px;border-radius:4px}
    .step{border-radius:3px}
    .badge{font:10px system-ui,sans-serif;color:#fff;background:#555;border-radius:3px;padding:0 3px;margin:0 3px;user-select:none}
    .unscored{color:#666}
    .note{color:#8a5a00;font-size:12px}
    h3{margin:6px 0}h4{margin:10px 0 4px}
    """#
}
