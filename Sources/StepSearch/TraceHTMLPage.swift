import Foundation

extension TraceHTML {
    /// The page around the pre-rendered SVG; `json` must already be safe inside <script>.
    static func page(title: String, header: String, question: String, answer: String, svg: String,
                     width: Double, height: Double, json: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <title>\(escape(title))</title>
        <style>
        body{font:14px system-ui,sans-serif;margin:0;display:flex;flex-direction:column;height:100vh}
        header{padding:8px 12px;background:#f4f4f4;border-bottom:1px solid #ccc}
        header span{margin-right:18px} .q,.a{white-space:pre-wrap;margin:4px 0}
        main{flex:1;display:flex;min-height:0}
        #tree{flex:3;overflow:auto;border-right:1px solid #ccc}
        #panel{flex:2;overflow:auto;padding:8px 12px}
        .edge{stroke:#aaa;stroke-width:1}
        .edge.chosen{stroke:#1565c0;stroke-width:3}
        .node{stroke:#333;stroke-width:1;cursor:pointer}
        .node.chosen{stroke:#1565c0;stroke-width:3}
        .node.terminal{stroke-width:2}
        .node.pruned{stroke-dasharray:2 2;opacity:.45}
        .node.cut{stroke:#d00;stroke-width:3}
        .node.selected{stroke:#000;stroke-width:4}
        .step{white-space:pre-wrap;border-radius:3px}
        pre{white-space:pre-wrap;font:13px ui-monospace,monospace}
        .legend span{margin-right:12px}
        </style></head><body>
        <header>
        \(header)
        <div class="q"><b>Question:</b> \(escape(question))</div>
        <div class="a"><b>Answer:</b> \(escape(answer))</div>
        <div class="legend"><span>fill: value (red 0 → green 1)</span><span>size: visits</span>
        <span style="color:#1565c0">blue: chosen path</span><span>dashed: pruned</span>
        <span style="color:#d00">red ring: cut by the budget</span>
        <button id="show-chosen">Show chosen trajectory</button></div>
        </header>
        <main><div id="tree"><svg xmlns="http://www.w3.org/2000/svg" width="\(format(width))" height="\(format(height))">
        \(svg)</svg></div>
        <div id="panel"><p>Click a node to see its text, each step coloured by its SPRM score.</p></div></main>
        <script type="application/json" id="trace-data">\(json)</script>
        <script>
        (function(){
          const trace = JSON.parse(document.getElementById('trace-data').textContent);
          const byId = new Map(trace.nodes.map(n => [n.id, n]));
          const panel = document.getElementById('panel');
          const fill = v => 'hsla(' + Math.round(Math.max(0, Math.min(1, v)) * 120) + ',70%,50%,0.35)';
          function el(tag, text){ const e = document.createElement(tag); if (text !== undefined) e.textContent = text; return e; }
          // Split at ".\\n\\n" and colour the i-th completed step by the i-th score.
          function steps(node, into){
            const parts = []; let rest = node.text;
            for (;;) { const k = rest.indexOf('.\\n\\n'); if (k < 0) break; parts.push(rest.slice(0, k + 3)); rest = rest.slice(k + 3); }
            const pre = el('pre');
            parts.forEach((p, i) => {
              const s = el('span', p); s.className = 'step';
              if (i < node.step_scores.length) { s.style.background = fill(node.step_scores[i]); s.title = 'SPRM ' + node.step_scores[i].toFixed(4); }
              pre.appendChild(s);
            });
            if (rest.length) pre.appendChild(el('span', rest));
            into.appendChild(pre);
            if (node.step_scores.length !== parts.length)
              into.appendChild(el('p', 'step scores: ' + node.step_scores.map(x => x.toFixed(4)).join(', ')));
          }
          function select(id){
            document.querySelectorAll('circle.selected').forEach(c => c.classList.remove('selected'));
            const c = document.querySelector('circle[data-id="' + id + '"]'); if (c) c.classList.add('selected');
          }
          function show(id){
            const n = byId.get(id); if (!n) return;
            select(id); panel.replaceChildren();
            panel.appendChild(el('h3', 'Node ' + n.id + (n.parent === null ? ' (root)' : ' (parent ' + n.parent + ')')));
            panel.appendChild(el('p', n.tokens + ' tokens · visits ' + n.visits + ' · value ' + n.value.toFixed(4)
              + ' · score ' + (n.score ?? n.value).toFixed(4) + ' · stop ' + n.stop
              + (n.terminal ? ' · terminal' : '') + (n.pruned ? ' · pruned' : '')));
            steps(n, panel);
          }
          function showChosen(){
            panel.replaceChildren(); panel.appendChild(el('h3', 'Chosen trajectory: ' + trace.chosen.join(' → ')));
            trace.chosen.forEach(id => { const n = byId.get(id); if (n) steps(n, panel); });
            if (trace.completion_tokens > 0) { panel.appendChild(el('h4', 'Completion beyond the budget (' + trace.completion_tokens + ' tokens)')); panel.appendChild(el('pre', trace.completion_text)); }
          }
          document.querySelectorAll('circle.node').forEach(c => c.addEventListener('click', () => show(+c.dataset.id)));
          document.getElementById('show-chosen').addEventListener('click', showChosen);
        })();
        </script>
        </body></html>
        """
    }
}
