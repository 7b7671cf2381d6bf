import Foundation

extension TraceHTML {
    /// The viewer's script. It never parses text as HTML (only `textContent`), builds a node's
    /// text only when the node is opened, and moves the static SVG with one transform.
    static let viewer = #"""
    (function(){
      'use strict';
      const $ = id => document.getElementById(id);
      const trace = JSON.parse($('trace-data').textContent);
      const byId = new Map(), kids = new Map();
      trace.nodes.forEach(n => byId.set(n.id, n));
      trace.nodes.forEach(n => {
        if (n.parent !== null && byId.has(n.parent)) {
          if (!kids.has(n.parent)) kids.set(n.parent, []);
          kids.get(n.parent).push(n.id);
        }
      });
      const rects = new Map();
      document.querySelectorAll('rect.node').forEach(r => rects.set(+r.dataset.id, r));
      const panel = $('panel'), svg = $('svg'), vp = $('viewport'), tree = $('tree');
      const W = +svg.dataset.w, H = +svg.dataset.h;
      const STEP = '.\n\n';

      function el(tag, text, cls){
        const e = document.createElement(tag);
        if (text !== undefined) e.textContent = text;
        if (cls) e.className = cls;
        return e;
      }
      const fmt = x => (typeof x === 'number' && isFinite(x)) ? x.toFixed(4) : String(x);
      // Low scores stand out: strong red; high scores: a faint green.
      function shade(s){
        const v = Math.max(0, Math.min(1, s));
        return 'hsla(' + Math.round(v * 120) + ',80%,50%,' + (0.12 + 0.6 * (1 - v)).toFixed(3) + ')';
      }
      function link(id, label){
        const b = el('button', label === undefined ? String(id) : label, 'link');
        b.addEventListener('click', () => open(id, true));
        return b;
      }
      function depthOf(n){ let d = 0; const seen = new Set(); while (n && n.parent !== null && !seen.has(n.id)) { seen.add(n.id); n = byId.get(n.parent); d++; } return d; }
      function pathTo(id){
        const ids = [], seen = new Set();
        for (let n = byId.get(id); n && !seen.has(n.id); n = n.parent === null ? undefined : byId.get(n.parent)) { seen.add(n.id); ids.push(n.id); }
        return ids.reverse();
      }

      // Ends (exclusive offsets into node.text) of the steps completed in this node: where a
      // ".\n\n" is completed. The parent's last characters are prepended so a boundary split
      // across two nodes ("." | "\n\n") counts for the node that completes it, as the engine does.
      function stepEnds(node){
        const parent = node.parent === null ? undefined : byId.get(node.parent);
        const tail = parent ? parent.text.slice(-(STEP.length - 1)) : '';
        const s = tail + node.text, ends = [];
        for (let k = s.indexOf(STEP); k >= 0; k = s.indexOf(STEP, k + STEP.length)) {
          const end = k + STEP.length - tail.length;
          if (end > 0) ends.push(end);
        }
        return ends;
      }
      function addStep(box, text, score, label){
        const s = el('span', undefined, 'step');
        if (score === null) {
          s.classList.add('unscored');
          s.title = label;
        } else {
          s.style.background = shade(score);
          s.title = label + ': SPRM ' + fmt(score);
          const b = el('span', label + ' · ' + score.toFixed(2), 'badge');
          b.style.background = 'hsl(' + Math.round(Math.max(0, Math.min(1, score)) * 120) + ',70%,32%)';
          s.appendChild(b);
        }
        s.appendChild(document.createTextNode(text));
        box.appendChild(s);
      }
      // The node's own text, one span per step; the i-th completed step gets the i-th score.
      function renderText(node, into){
        const ends = stepEnds(node), scores = node.step_scores || [];
        const box = el('div', undefined, 'text');
        let start = 0;
        ends.forEach((end, i) => {
          addStep(box, node.text.slice(start, end), i < scores.length ? scores[i] : null, 'step ' + (i + 1));
          start = end;
        });
        if (start < node.text.length) addStep(box, node.text.slice(start), null, 'unfinished step');
        if (!node.text.length) box.appendChild(el('i', node.parent === null ? '(the prompt: no generated text)' : '(empty)'));
        into.appendChild(box);
        if (ends.length !== scores.length)
          into.appendChild(el('p', scores.length + ' SPRM scores, ' + ends.length + ' step ends found in the text; scores: '
            + (scores.map(fmt).join(', ') || 'none'), 'note'));
      }

      function select(id){
        document.querySelectorAll('rect.selected').forEach(r => r.classList.remove('selected'));
        const r = rects.get(id);
        if (r) { r.classList.add('selected'); reveal(r); }
      }
      function setHash(h){ try { history.replaceState(null, '', h); } catch (e) { /* file:// in some browsers */ } }

      function open(id, fromUser){
        const n = byId.get(id);
        if (!n) { panel.replaceChildren(el('p', 'No node ' + id + ' in this trace.', 'note')); return; }
        select(id);
        if (fromUser) setHash('#node=' + id);
        panel.replaceChildren();
        const flags = [n.terminal ? 'finished' : '', n.pruned ? 'pruned' : '', n.stop === 'budget' ? 'cut by the budget' : '',
                       trace.chosen.includes(n.id) ? 'on the chosen path' : ''].filter(x => x).join(', ');
        panel.appendChild(el('h3', 'Node ' + n.id + (flags ? ' — ' + flags : '')));
        const st = el('p', undefined, 'stats');
        [['tokens', n.tokens], ['visits', n.visits], ['value', fmt(n.value)], ['path score', fmt(n.score)],
         ['depth', depthOf(n)], ['stop', n.stop], ['steps', (n.step_scores || []).length]].forEach(([k, v]) => {
          st.appendChild(el('b', k + ' ')); st.appendChild(document.createTextNode(String(v) + '   '));
        });
        panel.appendChild(st);
        const nav = el('p');
        if (n.parent !== null) { nav.appendChild(document.createTextNode('parent ')); nav.appendChild(link(n.parent)); nav.appendChild(document.createTextNode('  ')); }
        const ch = kids.get(n.id) || [];
        if (ch.length) { nav.appendChild(document.createTextNode('children ')); ch.forEach(c => nav.appendChild(link(c))); }
        const whole = el('button', 'Whole path from the root');
        whole.style.marginLeft = '10px';
        whole.addEventListener('click', () => showPath(pathTo(n.id), 'Path to node ' + n.id));
        nav.appendChild(whole);
        panel.appendChild(nav);
        renderText(n, panel);
      }
      function showPath(ids, heading, completion){
        panel.replaceChildren(el('h3', heading));
        ids.forEach(id => {
          const n = byId.get(id); if (!n) return;
          const h = el('h4'); h.appendChild(link(id, 'node ' + id));
          h.appendChild(document.createTextNode(' · ' + n.tokens + ' tokens · value ' + fmt(n.value)));
          panel.appendChild(h);
          renderText(n, panel);
        });
        if (completion) completion();
      }
      function showChosen(fromUser){
        if (fromUser) setHash('#chosen');
        const last = trace.chosen[trace.chosen.length - 1];
        if (last !== undefined) select(last);
        showPath(trace.chosen, 'Chosen trajectory: ' + (trace.chosen.join(' → ') || '(none)'), () => {
          if (trace.completion_tokens > 0) {
            panel.appendChild(el('h4', 'Completion beyond the budget (' + trace.completion_tokens + ' tokens)'));
            panel.appendChild(el('div', trace.completion_text, 'text'));
          }
          panel.appendChild(el('p', 'Answer: ' + (trace.answer === null ? '(none)' : trace.answer), 'stats'));
        });
      }

      // Pan and zoom: one transform on the viewport group.
      let k = 1, tx = 0, ty = 0;
      function apply(){ vp.setAttribute('transform', 'translate(' + tx.toFixed(1) + ',' + ty.toFixed(1) + ') scale(' + k.toFixed(4) + ')'); }
      function box(){ const r = svg.getBoundingClientRect(); return { w: Math.max(1, r.width), h: Math.max(1, r.height), left: r.left, top: r.top }; }
      function zoomAt(f, mx, my){
        const nk = Math.min(6, Math.max(0.02, k * f));
        tx = mx - (mx - tx) * nk / k; ty = my - (my - ty) * nk / k; k = nk; apply();
      }
      function fit(){
        const b = box();
        k = Math.min(2, b.w / W, b.h / H);
        tx = (b.w - W * k) / 2; ty = (b.h - H * k) / 2; apply();
      }
      // Readable start: the whole tree if it fits at a legible scale, else full width
      // centred on the chosen leaf.
      function initialView(){
        const b = box();
        if (Math.min(b.w / W, b.h / H) >= 0.45) { fit(); return; }
        k = Math.max(0.45, Math.min(1, b.w / W)); tx = Math.min(0, (b.w - W * k) / 2);
        const r = rects.get(trace.chosen[trace.chosen.length - 1]);
        const y = r ? +r.getAttribute('y') : H / 2;
        ty = b.h / 2 - y * k; apply();
      }
      // Pans just enough to bring a node's box into view.
      function reveal(r){
        const b = box();
        const x = +r.getAttribute('x') * k + tx, y = +r.getAttribute('y') * k + ty;
        if (x < 10 || x > b.w - 80) tx += b.w / 3 - x;
        if (y < 10 || y > b.h - 20) ty += b.h / 2 - y;
        apply();
      }
      tree.addEventListener('wheel', e => {
        e.preventDefault();
        const b = box();
        if (e.ctrlKey || e.metaKey) zoomAt(Math.exp(-e.deltaY * 0.002), e.clientX - b.left, e.clientY - b.top);
        else { tx -= e.shiftKey ? e.deltaY : e.deltaX; ty -= e.shiftKey ? 0 : e.deltaY; apply(); }
      }, { passive: false });
      // A press that moves less than 4 px is a click on the node under it (pointer capture
      // retargets the click event, so the node is taken from the pointerdown target).
      let drag = null;
      tree.addEventListener('pointerdown', e => {
        if (e.button !== 0) return;
        const t = e.target.closest ? e.target.closest('rect.node') : null;
        drag = { x: e.clientX, y: e.clientY, tx: tx, ty: ty, moved: false, id: t ? +t.dataset.id : null };
        tree.setPointerCapture(e.pointerId);
      });
      tree.addEventListener('pointermove', e => {
        if (!drag) return;
        const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
        if (!drag.moved && Math.hypot(dx, dy) < 4) return;
        drag.moved = true; tree.classList.add('dragging');
        tx = drag.tx + dx; ty = drag.ty + dy; apply();
      });
      function release(){
        if (drag && !drag.moved && drag.id !== null) open(drag.id, true);
        drag = null; tree.classList.remove('dragging');
      }
      tree.addEventListener('pointerup', release);
      tree.addEventListener('pointercancel', () => { drag = null; tree.classList.remove('dragging'); });
      $('zoom-in').addEventListener('click', () => { const b = box(); zoomAt(1.4, b.w / 2, b.h / 2); });
      $('zoom-out').addEventListener('click', () => { const b = box(); zoomAt(1 / 1.4, b.w / 2, b.h / 2); });
      $('fit').addEventListener('click', fit);
      $('show-chosen').addEventListener('click', () => showChosen(true));

      // #node=ID opens a node, #chosen the chosen trajectory.
      function route(){
        const m = /^#node=(-?\d+)$/.exec(location.hash);
        if (m) open(+m[1], false);
        else if (location.hash === '#chosen') showChosen(false);
      }
      window.addEventListener('hashchange', route);
      initialView();
      if (location.hash) route(); else showChosen(false);
      document.documentElement.setAttribute('data-ready', '1');
    })();
    """#
}
